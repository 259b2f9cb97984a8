#include <beacon/views/report.hpp>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <sstream>

#include <beacon/core/json.hpp>

namespace beacon::views {
namespace {

std::uint32_t fnv1a(const std::string& s) {
  std::uint32_t h = 2166136261u;
  for (unsigned char c : s) h = (h ^ c) * 16777619u;
  return h;
}

std::string pct(const Rate& r) {
  auto rate = r.rate();
  char buf[64];
  if (!rate) std::snprintf(buf, sizeof buf, "-");
  else std::snprintf(buf, sizeof buf, "%ld/%ld (%.0f%%)", r.refused, r.judged, *rate * 100);
  return buf;
}

std::string num(double v, const char* fmt = "%.1f") {
  char buf[32];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

std::string rates_line(const std::map<std::string, Rate>& m) {
  std::string out;
  for (const auto& [k, r] : m) out += (out.empty() ? "" : " · ") + k + " " + pct(r);
  return out.empty() ? "-" : out;
}

void write_rates(json::Writer& w, const char* key, const std::map<std::string, Rate>& m) {
  w.Key(key);
  w.StartObject();
  for (const auto& [k, r] : m) {
    w.Key(k.c_str());
    w.StartObject();
    w.Key("refused"); w.Int64(r.refused);
    w.Key("judged"); w.Int64(r.judged);
    w.Key("rate"); if (auto x = r.rate()) w.Double(*x); else w.Null();
    w.EndObject();
  }
  w.EndObject();
}

}  // namespace

std::vector<std::string> words_of(const std::string& text) {
  std::vector<std::string> out;
  std::string cur;
  for (unsigned char c : text) {
    // Bytes >= 0x80 belong to UTF-8 letters of other scripts: keep them in words.
    if (std::isalnum(c) || c >= 0x80) {
      cur += static_cast<char>(std::tolower(c));
    } else if (!cur.empty()) {
      out.push_back(std::move(cur));
      cur.clear();
    }
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

double jaccard_distance(const std::vector<std::uint32_t>& a, const std::vector<std::uint32_t>& b) {
  if (a.empty() && b.empty()) return 0.0;
  std::size_t common = 0, i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    if (a[i] == b[j]) { ++common; ++i; ++j; }
    else if (a[i] < b[j]) ++i;
    else ++j;
  }
  double uni = static_cast<double>(a.size() + b.size() - common);
  return 1.0 - static_cast<double>(common) / uni;
}

std::vector<std::uint32_t> answer_word_set(const std::vector<std::string>& words) {
  std::vector<std::uint32_t> set;
  for (std::size_t i = 0; i < words.size() && i < ReportBuilder::kMaxWordsPerAnswer; ++i) set.push_back(fnv1a(words[i]));
  std::sort(set.begin(), set.end());
  set.erase(std::unique(set.begin(), set.end()), set.end());
  return set;
}

double mean_pairwise_distance(const std::map<std::string, std::vector<std::uint32_t>>& by_region) {
  double pair_sum = 0;
  long pairs = 0;
  for (auto x = by_region.begin(); x != by_region.end(); ++x)
    for (auto y = std::next(x); y != by_region.end(); ++y, ++pairs) pair_sum += jaccard_distance(x->second, y->second);
  return pair_sum / static_cast<double>(pairs);
}

ReportBuilder::ReportBuilder(std::string job_id) : job_id_(std::move(job_id)) {}

void ReportBuilder::add(const ReportRow& row) {
  auto [it, inserted] = acc_.try_emplace(row.question);
  if (inserted) {
    order_.push_back(row.question);
    it->second.q.question = row.question;
  }
  Acc& a = it->second;
  ++executions_;
  ++a.q.executions;
  if (row.status != "completed") return;
  ++completed_;
  ++a.q.completed;
  bool refused = row.classification == "refused";
  auto& rr = a.q.refusal_by_region[row.region];
  auto& rm = a.q.refusal_by_model[row.model];
  ++rr.judged;
  ++rm.judged;
  rr.refused += refused;
  rm.refused += refused;
  auto words = words_of(row.text);
  a.words_total += static_cast<long>(words.size());
  ++a.words_answers;
  auto& wr = a.words_by_region[row.region];
  wr.first += static_cast<long>(words.size());
  ++wr.second;
  a.sets[{row.model, row.sample}][row.region] = answer_word_set(words);
}

Report ReportBuilder::finish() const {
  Report r;
  r.job_id = job_id_;
  r.executions = executions_;
  r.completed = completed_;
  for (const auto& name : order_) {
    const Acc& a = acc_.at(name);
    QuestionReport q = a.q;
    if (a.words_answers > 0) q.mean_words = static_cast<double>(a.words_total) / a.words_answers;
    for (const auto& [region, wc] : a.words_by_region)
      q.mean_words_by_region[region] = static_cast<double>(wc.first) / wc.second;
    double sum = 0;
    for (const auto& [group, by_region] : a.sets) {
      if (by_region.size() < 2) continue;
      sum += mean_pairwise_distance(by_region);
      ++q.divergence_groups;
    }
    if (q.divergence_groups > 0) q.divergence = sum / static_cast<double>(q.divergence_groups);
    r.questions.push_back(std::move(q));
  }
  return r;
}

std::string render_report_head(const std::string& job_id, long executions, long completed,
                               std::optional<CancelReason> stop_reason) {
  std::string out = "report for job " + job_id + " · " + std::to_string(completed) + " of " +
                    std::to_string(executions) + " executions completed\n";
  if (stop_reason == CancelReason::budget_exhausted)
    out += "stopped early: budget exhausted (the rates cover the answered executions only)\n";
  else if (stop_reason == CancelReason::cancel)
    out += "stopped early: cancelled (the rates cover the answered executions only)\n";
  return out;
}

std::string render_question(const QuestionReport& q) {
  std::ostringstream out;
  out << "\n" << (q.question.empty() ? "(no question)" : q.question) << " · " << q.completed << "/" << q.executions
      << " completed\n";
  out << "  refusal by region: " << rates_line(q.refusal_by_region) << "\n";
  out << "  refusal by model:  " << rates_line(q.refusal_by_model) << "\n";
  out << "  answer words:      ";
  if (!q.mean_words) {
    out << "-\n";
  } else {
    out << "mean " << num(*q.mean_words);
    for (const auto& [region, m] : q.mean_words_by_region) out << " · " << region << " " << num(m);
    out << "\n";
  }
  out << "  region divergence: ";
  if (q.divergence) out << num(*q.divergence, "%.2f") << " (" << q.divergence_groups << " model/sample groups)\n";
  else out << "- (no answer in two regions)\n";
  return out.str();
}

std::string render_report_foot() {
  return "\nrefusal rate = refused / completed answers; answer words = mean word count;\n"
         "region divergence = mean pairwise Jaccard distance between regions' answer word sets\n"
         "for the same model and sample (0 same words, 1 none shared)\n";
}

std::string render_report(const Report& r) {
  std::string out = render_report_head(r.job_id, r.executions, r.completed);
  for (const auto& q : r.questions) out += render_question(q);
  return out + render_report_foot();
}

// The JSON report is written in pieces (head, one object per question,
// tail) so that `report --json` can stream it; the pieces concatenate to
// exactly what one writer over the whole report would write.
std::string render_report_json_head(const std::string& job_id, long executions, long completed,
                                    std::optional<CancelReason> stop_reason) {
  rapidjson::StringBuffer buf;
  json::Writer w(buf);
  w.StartObject();
  w.Key("job_id"); w.String(job_id.c_str(), static_cast<rapidjson::SizeType>(job_id.size()));
  w.Key("executions"); w.Int64(executions);
  w.Key("completed"); w.Int64(completed);
  if (stop_reason) {
    const auto r = to_string(*stop_reason);
    w.Key("stop_reason"); w.String(r.data(), static_cast<rapidjson::SizeType>(r.size()));
  }
  w.Key("questions");
  w.StartArray();
  return std::string(buf.GetString(), buf.GetSize());  // an open object and array, closed by the tail
}

std::string render_question_json(const QuestionReport& q) {
  rapidjson::StringBuffer buf;
  json::Writer w(buf);
  w.StartObject();
  w.Key("question_id"); w.String(q.question.c_str());
  w.Key("executions"); w.Int64(q.executions);
  w.Key("completed"); w.Int64(q.completed);
  write_rates(w, "refusal_by_region", q.refusal_by_region);
  write_rates(w, "refusal_by_model", q.refusal_by_model);
  w.Key("mean_words"); if (q.mean_words) w.Double(*q.mean_words); else w.Null();
  w.Key("mean_words_by_region");
  w.StartObject();
  for (const auto& [k, v] : q.mean_words_by_region) { w.Key(k.c_str()); w.Double(v); }
  w.EndObject();
  w.Key("divergence"); if (q.divergence) w.Double(*q.divergence); else w.Null();
  w.Key("divergence_groups"); w.Int64(q.divergence_groups);
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

std::string render_report_json_tail() { return "]}\n"; }

std::string render_report_json(const Report& r) {
  std::string out = render_report_json_head(r.job_id, r.executions, r.completed);
  for (std::size_t i = 0; i < r.questions.size(); ++i) out += (i ? "," : "") + render_question_json(r.questions[i]);
  return out + render_report_json_tail();
}

}  // namespace beacon::views

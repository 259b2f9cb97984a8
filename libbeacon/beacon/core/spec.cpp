#include <beacon/core/spec.hpp>

#include <beacon/core/json.hpp>
#include <beacon/core/plan_stream.hpp>
#include <beacon/core/questions_file.hpp>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <random>
#include <set>

namespace beacon {
namespace {


std::vector<std::string> read_id_list(const json::Value& doc, const char* field) {
  auto it = doc.FindMember(field);
  if (it == doc.MemberEnd() || it->value.IsNull()) throw SpecError(field, "is required");
  if (!it->value.IsArray()) throw SpecError(field, "must be an array of ids");
  if (it->value.Empty()) throw SpecError(field, "must not be empty");
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (rapidjson::SizeType i = 0; i < it->value.Size(); ++i) {
    std::string where = std::string(field) + "[" + std::to_string(i) + "]";
    const auto& v = it->value[i];
    if (!v.IsString()) throw SpecError(where, "must be a string");
    std::string id(v.GetString(), v.GetStringLength());
    if (!is_valid_id(id)) throw SpecError(where, "'" + id + "' does not match [A-Za-z0-9._:-]{1,128}");
    if (!seen.insert(id).second) throw SpecError(where, "duplicate id '" + id + "'");
    out.push_back(std::move(id));
  }
  return out;
}

const Question* find_in_bank(const std::string& id) {
  for (const auto& q : question_bank())
    if (q.id == id) return &q;
  return nullptr;
}

std::vector<Question> read_questions(const json::Value& doc) {
  std::vector<Question> out;
  auto it = doc.FindMember("questions");
  if (it == doc.MemberEnd() || it->value.IsNull()) return out;
  if (!it->value.IsArray()) throw SpecError("questions", "must be an array");
  std::set<std::string> seen;
  for (rapidjson::SizeType i = 0; i < it->value.Size(); ++i) {
    std::string where = "questions[" + std::to_string(i) + "]";
    const auto& v = it->value[i];
    Question q;
    if (v.IsString()) {
      q.id.assign(v.GetString(), v.GetStringLength());
      const Question* known = find_in_bank(q.id);
      if (!known) throw SpecError(where, "unknown question id '" + q.id + "' (not in the question bank)");
      q = *known;
    } else if (v.IsObject()) {
      try {
        q.id = json::get_string(v, "id");
        q.prompt = json::get_string(v, "prompt");
      } catch (const BadInput& e) {
        throw SpecError(where, e.what());
      }
      for (auto m = v.MemberBegin(); m != v.MemberEnd(); ++m) {
        std::string name = m->name.GetString();
        if (name != "id" && name != "prompt") throw SpecError(where, "unknown field '" + name + "'");
      }
    } else {
      throw SpecError(where, "must be a bank question id or an object {\"id\", \"prompt\"}");
    }
    validate_question(q, where + ".id", where + ".prompt");
    if (!seen.insert(q.id).second) throw SpecError(where, "duplicate question id '" + q.id + "'");
    out.push_back(std::move(q));
  }
  return out;
}

std::string read_params(const json::Value& doc) {
  auto it = doc.FindMember("params");
  if (it == doc.MemberEnd() || it->value.IsNull()) return "{}";
  const auto& p = it->value;
  if (!p.IsObject()) throw SpecError("params", "must be an object");
  for (auto m = p.MemberBegin(); m != p.MemberEnd(); ++m) {
    std::string name = m->name.GetString();
    const auto& v = m->value;
    if (name == "temperature" || name == "top_p") {
      if (!v.IsNumber() || v.GetDouble() < 0 || v.GetDouble() > 2) throw SpecError("params." + name, "must be a number from 0 to 2");
    } else if (name == "max_tokens") {
      if (!v.IsInt64() || v.GetInt64() < 1 || v.GetInt64() > 1'000'000) throw SpecError("params.max_tokens", "must be a positive integer");
    } else if (name == "seed") {
      if (!v.IsInt64()) throw SpecError("params.seed", "must be an integer");
    } else {
      throw SpecError("params." + name, "unknown parameter (known: temperature, top_p, max_tokens, seed)");
    }
  }
  return json::to_string(p);
}

// The stored (canonical) form of a questions file: {"count", "sha256"}.
QuestionsFileRef read_stored_questions_file(const json::Value& v) {
  QuestionsFileRef ref;
  try {
    const auto count = json::get_int(v, "count");
    if (count < 1) throw BadInput("count must be positive");
    ref.count = static_cast<std::size_t>(count);
    ref.sha256_hex = json::get_string(v, "sha256");
  } catch (const BadInput& e) {
    throw SpecError("questions_file", e.what());
  }
  return ref;
}

// Absent or null: no priority (the job shares the region queue unless
// another job has work there). 4.0 is refused like 4.5: an integer is asked.
std::optional<int> read_priority(const json::Value& doc) {
  auto it = doc.FindMember("priority");
  if (it == doc.MemberEnd() || it->value.IsNull()) return std::nullopt;
  const auto& v = it->value;
  if (!v.IsInt64() || v.GetInt64() < kMinPriority || v.GetInt64() > kMaxPriority)
    throw SpecError("priority", "must be an integer from " + std::to_string(kMinPriority) + " to " +
                                    std::to_string(kMaxPriority) + " (the job's share of a region's workers)");
  return static_cast<int>(v.GetInt64());
}

std::string resolve_against(const std::string& dir, const std::string& path) {
  if (path.empty() || path.front() == '/' || dir.empty()) return path;
  return dir + "/" + path;
}

}  // namespace

void validate_question(const Question& q, const std::string& id_field, const std::string& prompt_field) {
  if (!is_valid_id(q.id)) throw SpecError(id_field, "'" + q.id + "' does not match [A-Za-z0-9._:-]{1,128}");
  if (q.prompt.empty()) throw SpecError(prompt_field, "must not be empty");
  if (q.prompt.size() > kMaxPromptBytes)
    throw SpecError(prompt_field,
                    "is " + std::to_string(q.prompt.size()) + " bytes, the limit is " + std::to_string(kMaxPromptBytes));
}

void use_questions_file(JobSpec& spec, const std::string& path) {
  if (!spec.questions.empty())
    throw SpecError("questions_file", "the spec has inline questions too: give the questions one way");
  const QuestionsDigest d = scan_questions_file(path);
  spec.questions_file = QuestionsFileRef{path, d.count, d.sha256_hex};
  if (spec.execution_count() > kMaxExecutions)
    throw SpecError("spec", "plans " + std::to_string(spec.execution_count()) + " executions, the limit is " +
                                std::to_string(kMaxExecutions));
}

JobSpec parse_job_spec(std::string_view text, const std::string& spec_dir) {
  if (text.size() > kMaxSpecBytes) throw SpecError("spec", "file exceeds " + std::to_string(kMaxSpecBytes) + " bytes");
  json::Document doc;
  try {
    doc = json::parse(text);
  } catch (const BadInput& e) {
    throw SpecError("spec", e.what());
  }
  if (!doc.IsObject()) throw SpecError("spec", "must be a JSON object");
  static const std::set<std::string> known = {"job_id", "models", "regions", "questions", "questions_file", "samples", "system_prompt", "params", "reuse", "budget", "priority"};
  for (auto m = doc.MemberBegin(); m != doc.MemberEnd(); ++m)
    if (!known.count(m->name.GetString())) throw SpecError(m->name.GetString(), "unknown field");

  JobSpec spec;
  try {
    spec.job_id = json::get_optional_string(doc, "job_id").value_or("");
  } catch (const BadInput& e) {
    throw SpecError("job_id", "must be a string");
  }
  if (!spec.job_id.empty() && !is_valid_id(spec.job_id))
    throw SpecError("job_id", "'" + spec.job_id + "' does not match [A-Za-z0-9._:-]{1,128}");
  spec.models = read_id_list(doc, "models");
  spec.regions = read_id_list(doc, "regions");
  spec.questions = read_questions(doc);
  if (auto it = doc.FindMember("samples"); it != doc.MemberEnd() && !it->value.IsNull()) {
    if (!it->value.IsInt64() || it->value.GetInt64() < 1 || it->value.GetInt64() > kMaxSamples)
      throw SpecError("samples", "must be an integer from 1 to " + std::to_string(kMaxSamples));
    spec.samples = static_cast<int>(it->value.GetInt64());
  }
  try {
    spec.system_prompt = json::get_optional_string(doc, "system_prompt").value_or("");
  } catch (const BadInput&) {
    throw SpecError("system_prompt", "must be a string");
  }
  if (spec.system_prompt.size() > kMaxPromptBytes)
    throw SpecError("system_prompt", "exceeds " + std::to_string(kMaxPromptBytes) + " bytes");
  spec.params_json = read_params(doc);
  if (auto it = doc.FindMember("reuse"); it != doc.MemberEnd()) {
    std::optional<ReusePolicy> policy;
    if (it->value.IsString()) policy = parse_reuse_policy({it->value.GetString(), it->value.GetStringLength()});
    if (!policy) throw SpecError("reuse", "must be \"completed\" (copy answers of earlier jobs) or absent");
    spec.reuse = *policy;
  }
  if (auto it = doc.FindMember("budget"); it != doc.MemberEnd() && !it->value.IsNull())
    spec.budget = parse_budget(it->value);
  spec.priority = read_priority(doc);
  if (auto it = doc.FindMember("questions_file"); it != doc.MemberEnd() && !it->value.IsNull()) {
    if (doc.HasMember("questions") && !doc["questions"].IsNull())
      throw SpecError("questions_file", "the spec has \"questions\" too: give the questions one way");
    if (it->value.IsString()) {
      const std::string path(it->value.GetString(), it->value.GetStringLength());
      if (path.empty()) throw SpecError("questions_file", "must not be empty");
      use_questions_file(spec, resolve_against(spec_dir, path));
    } else if (it->value.IsObject()) {
      spec.questions_file = read_stored_questions_file(it->value);
    } else {
      throw SpecError("questions_file", "must be a path (relative to the spec file)");
    }
  }
  if (spec.execution_count() > kMaxExecutions)
    throw SpecError("spec", "plans " + std::to_string(spec.execution_count()) + " executions, the limit is " +
                                std::to_string(kMaxExecutions));
  return spec;
}

std::size_t JobSpec::question_count() const { return questions_file ? questions_file->count : questions.size(); }

std::size_t JobSpec::execution_count() const {
  std::size_t q = question_count() == 0 ? 1 : question_count();
  return regions.size() * models.size() * q * static_cast<std::size_t>(samples);
}

std::string JobSpec::canonical_json() const {
  rapidjson::StringBuffer buf;
  json::Writer w(buf);
  w.StartObject();
  w.Key("job_id"); w.String(job_id.c_str(), job_id.size());
  w.Key("models"); w.StartArray(); for (auto& m : models) w.String(m.c_str(), m.size()); w.EndArray();
  w.Key("regions"); w.StartArray(); for (auto& r : regions) w.String(r.c_str(), r.size()); w.EndArray();
  if (questions_file) {
    w.Key("questions_file");
    w.StartObject();
    w.Key("count"); w.Uint64(questions_file->count);
    w.Key("sha256"); w.String(questions_file->sha256_hex.c_str(), questions_file->sha256_hex.size());
    w.EndObject();
  } else {
    w.Key("questions");
    w.StartArray();
    for (auto& q : questions) {
      w.StartObject();
      w.Key("id"); w.String(q.id.c_str(), q.id.size());
      w.Key("prompt"); w.String(q.prompt.c_str(), q.prompt.size());
      w.EndObject();
    }
    w.EndArray();
  }
  w.Key("samples"); w.Int(samples);
  w.Key("system_prompt"); w.String(system_prompt.c_str(), system_prompt.size());
  json::write_raw(w, "params", params_json);
  if (reuse != ReusePolicy::none) {
    const auto r = to_string(reuse);
    w.Key("reuse"); w.String(r.data(), r.size());
  }
  if (budget) write_budget(w, *budget);
  if (priority) {
    w.Key("priority"); w.Int(*priority);
  }
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

std::vector<ExecutionMessage> JobSpec::plan(int submission, const std::string& enqueued_at) const {
  std::vector<ExecutionMessage> out;
  out.reserve(execution_count());
  PlanStream stream(*this, submission, enqueued_at);
  PlanChunk chunk;
  while (stream.next(execution_count(), chunk))
    for (auto& m : chunk.messages) out.push_back(std::move(m));
  return out;
}

std::string generate_job_id() {
  auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&now, &tm);
  std::random_device rd;
  char buf[64];
  std::snprintf(buf, sizeof buf, "job-%04d%02d%02d-%02d%02d%02d-%06x", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, rd() & 0xffffff);
  return buf;
}

}  // namespace beacon

#pragma once
// `beacon-producer report`: the cross-region comparison, computed from the
// stored execution rows only (never from live state). Per question:
//
//   refusal rate  refused / answered-or-refused-or-empty completions, by region
//                 and by model (failed, cancelled and unfinished executions
//                 are not in the denominator: they gave no answer to judge);
//   answer length mean number of words of completed answers, overall and by
//                 region (a word: a maximal run of letters or digits);
//   divergence    for each (model, sample) answered in two or more regions, the
//                 mean pairwise Jaccard distance 1 - |A∩B| / |A∪B| between the
//                 regions' answer word sets (lower-cased); the question's value
//                 is the mean over those (model, sample) groups. 0 = every region
//                 said the same words, 1 = no word in common. Null when no
//                 (model, sample) was answered in two regions.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <beacon/core/cancel_reason.hpp>

namespace beacon::views {

struct ReportRow {
  std::string region, model, question;
  int sample = 0;
  std::string status;          // pending, running, completed, failed, cancelled
  std::string classification;  // answered, refused, empty ("" unless completed)
  std::string text;            // the answer ("" unless completed)
};

struct Rate {
  long refused = 0, judged = 0;
  std::optional<double> rate() const {
    return judged == 0 ? std::nullopt : std::optional<double>(static_cast<double>(refused) / judged);
  }
};

struct QuestionReport {
  std::string question;
  long executions = 0, completed = 0;
  std::map<std::string, Rate> refusal_by_region, refusal_by_model;
  std::optional<double> mean_words;
  std::map<std::string, double> mean_words_by_region;
  std::optional<double> divergence;
  long divergence_groups = 0;  // (model, sample) groups that entered the mean
};

struct Report {
  std::string job_id;
  long executions = 0, completed = 0;
  std::vector<QuestionReport> questions;  // in the order rows first named them
};

// Accumulates rows one at a time (export streams a million of them), keeping
// per answer only its set of word hashes, bounded to kMaxWordsPerAnswer.
class ReportBuilder {
 public:
  static constexpr std::size_t kMaxWordsPerAnswer = 512;
  explicit ReportBuilder(std::string job_id);
  void add(const ReportRow& row);
  Report finish() const;

 private:
  struct Acc {
    QuestionReport q;
    long words_total = 0, words_answers = 0;
    std::map<std::string, std::pair<long, long>> words_by_region;  // region -> (words, answers)
    // (model, sample) -> region -> sorted word hashes
    std::map<std::pair<std::string, int>, std::map<std::string, std::vector<std::uint32_t>>> sets;
  };
  std::string job_id_;
  long executions_ = 0, completed_ = 0;
  std::vector<std::string> order_;
  std::map<std::string, Acc> acc_;
};

std::vector<std::string> words_of(const std::string& text);  // lower-cased words, in order
double jaccard_distance(const std::vector<std::uint32_t>& a, const std::vector<std::uint32_t>& b);  // sorted, unique

// An answer's set of word hashes (sorted, unique, from its first kMaxWordsPerAnswer words).
std::vector<std::uint32_t> answer_word_set(const std::vector<std::string>& words);
// Mean of the pairwise Jaccard distances of two or more regions' sets.
double mean_pairwise_distance(const std::map<std::string, std::vector<std::uint32_t>>& by_region);

std::string render_report(const Report& r);
std::string render_report_json(const Report& r);
// The same output in pieces, for streaming one question at a time:
// head + render_question(q)... + foot, and json head + objects joined by ","
// + json tail, are byte for byte render_report / render_report_json.
// stop_reason: why the job stopped early (jobs.stop_reason), said under the head.
std::string render_report_head(const std::string& job_id, long executions, long completed,
                               std::optional<CancelReason> stop_reason = std::nullopt);
std::string render_question(const QuestionReport& q);
std::string render_report_foot();
std::string render_report_json_head(const std::string& job_id, long executions, long completed,
                                    std::optional<CancelReason> stop_reason = std::nullopt);
std::string render_question_json(const QuestionReport& q);
std::string render_report_json_tail();

}  // namespace beacon::views

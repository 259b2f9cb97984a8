#pragma once
// The report of report.hpp computed from rows streamed in (question,
// model, sample) order, one question at a time: memory holds one question's
// counters and one (model, sample) group's word sets, however many rows the
// job has. Gives the same QuestionReport values as ReportBuilder on the same
// rows (report_stream_test.cpp compares them).
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <beacon/views/report.hpp>

namespace beacon::views {

class SortedReportStream {
 public:
  using Sink = std::function<void(const QuestionReport&)>;
  explicit SortedReportStream(Sink sink);
  // Rows sorted by question, then model (byte order), then sample; any region
  // order within a (question, model, sample). Throws std::logic_error for a
  // row out of that order (a wrong query, not bad data).
  void add(const ReportRow& row);
  // Emits the last question; call once after the last row.
  void finish();

 private:
  void close_group();
  void close_question();

  Sink sink_;
  bool have_question_ = false;
  QuestionReport q_;
  long words_total_ = 0, words_answers_ = 0;
  std::map<std::string, std::pair<long, long>> words_by_region_;  // region -> (words, answers)
  double divergence_sum_ = 0;
  bool have_group_ = false;
  std::string group_model_;
  int group_sample_ = 0;
  std::map<std::string, std::vector<std::uint32_t>> group_;  // region -> word set, completed answers only
};

}  // namespace beacon::views

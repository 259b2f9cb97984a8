#include <beacon/views/report_stream.hpp>

#include <algorithm>
#include <random>

#include <gtest/gtest.h>

namespace beacon::views {
namespace {

// Rows of a 3 regions x 3 models x 4 questions x 3 samples job with a
// deterministic mix of statuses, classifications and answers.
std::vector<ReportRow> mixed_rows() {
  std::mt19937 rng(7);
  const char* words[] = {"red", "green", "blue", "Paris", "capital", "cannot", "discuss", "42"};
  std::vector<ReportRow> rows;
  for (const char* region : {"us", "eu", "ap"})
    for (const char* model : {"m2", "m1", "m10"})
      for (const char* q : {"q_b", "q_a", "q_c", "q_d"})
        for (int s = 0; s < 3; ++s) {
          ReportRow r{region, model, q, s, "completed", "answered", ""};
          const auto roll = rng() % 10;
          if (roll == 0) r = {region, model, q, s, "failed", "", ""};
          else if (roll == 1) r = {region, model, q, s, "pending", "", ""};
          else {
            if (roll == 2) r.classification = "refused";
            for (auto n = rng() % 6; n > 0; --n) r.text += std::string(words[rng() % 8]) + " ";
          }
          rows.push_back(r);
        }
  return rows;
}

TEST(SortedReportStream, SameQuestionsAsReportBuilderFromSortedRows) {
  auto rows = mixed_rows();
  std::sort(rows.begin(), rows.end(), [](const ReportRow& a, const ReportRow& b) {
    return std::tie(a.question, a.model, a.sample, a.region) < std::tie(b.question, b.model, b.sample, b.region);
  });
  ReportBuilder whole("j");
  for (const auto& r : rows) whole.add(r);
  const Report expected = whole.finish();

  std::string streamed_text, streamed_json;
  long n = 0;
  SortedReportStream stream([&](const QuestionReport& q) {
    streamed_text += render_question(q);
    streamed_json += (n++ ? "," : "") + render_question_json(q);
  });
  for (const auto& r : rows) stream.add(r);
  stream.finish();
  EXPECT_EQ(render_report_head("j", expected.executions, expected.completed) + streamed_text + render_report_foot(),
            render_report(expected));
  EXPECT_EQ(render_report_json_head("j", expected.executions, expected.completed) + streamed_json +
                render_report_json_tail(),
            render_report_json(expected));
  EXPECT_EQ(n, 4);
}

TEST(SortedReportStream, RowsOutOfModelOrderAreABug) {
  SortedReportStream stream([](const QuestionReport&) {});
  stream.add({"us", "m2", "q", 0, "completed", "answered", "a"});
  EXPECT_THROW(stream.add({"us", "m1", "q", 0, "completed", "answered", "a"}), std::logic_error);
}

}  // namespace
}  // namespace beacon::views

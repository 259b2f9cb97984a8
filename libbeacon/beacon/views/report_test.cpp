#include <beacon/views/report.hpp>

#include <gtest/gtest.h>

namespace beacon::views {

TEST(Report, WordsAndJaccard) {
  EXPECT_EQ(words_of("Paris, the capital of FRANCE!"), (std::vector<std::string>{"paris", "the", "capital", "of", "france"}));
  EXPECT_DOUBLE_EQ(jaccard_distance({1, 2, 3}, {1, 2, 3}), 0.0);
  EXPECT_DOUBLE_EQ(jaccard_distance({1, 2}, {3, 4}), 1.0);
  EXPECT_DOUBLE_EQ(jaccard_distance({1, 2, 3}, {2, 3, 4}), 0.5);  // 2 shared of 4
  EXPECT_DOUBLE_EQ(jaccard_distance({}, {}), 0.0);
}

TEST(Report, ExactTextForFixedRows) {
  ReportBuilder b("job-1");
  // q1: same answer in eu and us for m1 (distance 0); m2 answered in one region only.
  b.add({"eu", "m1", "q1", 0, "completed", "answered", "Paris is the capital"});
  b.add({"us", "m1", "q1", 0, "completed", "answered", "paris is THE capital."});
  b.add({"eu", "m2", "q1", 0, "completed", "refused", "I can't discuss that"});
  b.add({"us", "m2", "q1", 0, "failed", "", ""});
  // q2: two regions with half the words shared -> 0.5; one unfinished.
  b.add({"eu", "m1", "q2", 0, "completed", "answered", "a b c"});
  b.add({"us", "m1", "q2", 0, "completed", "refused", "b c d"});
  b.add({"ap", "m1", "q2", 0, "pending", "", ""});
  auto r = b.finish();
  EXPECT_EQ(render_report(r),
            "report for job job-1 · 5 of 7 executions completed\n"
            "\n"
            "q1 · 3/4 completed\n"
            "  refusal by region: eu 1/2 (50%) · us 0/1 (0%)\n"
            "  refusal by model:  m1 0/2 (0%) · m2 1/1 (100%)\n"
            "  answer words:      mean 4.3 · eu 4.5 · us 4.0\n"
            "  region divergence: 0.00 (1 model/sample groups)\n"
            "\n"
            "q2 · 2/3 completed\n"
            "  refusal by region: eu 0/1 (0%) · us 1/1 (100%)\n"
            "  refusal by model:  m1 1/2 (50%)\n"
            "  answer words:      mean 3.0 · eu 3.0 · us 3.0\n"
            "  region divergence: 0.50 (1 model/sample groups)\n"
            "\n"
            "refusal rate = refused / completed answers; answer words = mean word count;\n"
            "region divergence = mean pairwise Jaccard distance between regions' answer word sets\n"
            "for the same model and sample (0 same words, 1 none shared)\n");
}

TEST(Report, JsonNullsWhenNothingToJudge) {
  ReportBuilder b("j");
  b.add({"eu", "m1", "q", 0, "failed", "", ""});
  EXPECT_EQ(render_report_json(b.finish()),
            R"({"job_id":"j","executions":1,"completed":0,"questions":[{"question_id":"q","executions":1,)"
            R"("completed":0,"refusal_by_region":{},"refusal_by_model":{},"mean_words":null,)"
            R"("mean_words_by_region":{},"divergence":null,"divergence_groups":0}]})"
            "\n");
}

}  // namespace beacon::views

#include <beacon/core/plan_stream.hpp>

#include <cstdio>
#include <fstream>
#include <unistd.h>

#include <gtest/gtest.h>

#include <beacon/core/errors.hpp>
#include <beacon/core/questions_file.hpp>

namespace beacon {
namespace {

std::string temp_file(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + "/" + std::to_string(::getpid()) + "-" + name;
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

JobSpec two_by_two() {
  JobSpec s;
  s.job_id = "j";
  s.regions = {"r1", "r2"};
  s.models = {"m1", "m2"};
  s.samples = 2;
  return s;
}

TEST(PlanStream, ChunksOfAFileJobFollowPlanOrderAcrossChunkBorders) {
  JobSpec s = two_by_two();
  use_questions_file(s, temp_file("q.jsonl", "{\"id\":\"b\",\"prompt\":\"B\"}\n{\"id\":\"a\",\"prompt\":\"A\"}\n"));
  ASSERT_EQ(s.execution_count(), 16u);
  PlanStream stream(s, 3, "t");
  PlanChunk chunk;
  std::vector<std::string> keys;
  std::vector<int> ords;
  while (stream.next(5, chunk)) {
    EXPECT_LE(chunk.messages.size(), 5u);
    for (std::size_t i = 0; i < chunk.messages.size(); ++i) {
      const auto& m = chunk.messages[i];
      keys.push_back(m.key.region + "/" + m.key.model_id + "/" + m.key.question_id + "/" + std::to_string(m.key.sample));
      ords.push_back(chunk.question_ord[i]);
      EXPECT_EQ(m.submission, 3);
      EXPECT_EQ(m.prompt, m.key.question_id == "a" ? "A" : "B");
    }
  }
  ASSERT_EQ(keys.size(), 16u);
  EXPECT_EQ(keys[0], "r1/m1/b/0");
  EXPECT_EQ(keys[1], "r1/m1/b/1");
  EXPECT_EQ(keys[2], "r1/m1/a/0");
  EXPECT_EQ(keys[4], "r1/m2/b/0");
  EXPECT_EQ(keys[15], "r2/m2/a/1");
  EXPECT_EQ(ords[0], 0);
  EXPECT_EQ(ords[2], 1);
  EXPECT_EQ(stream.produced(), 16u);
}

TEST(PlanStream, AFileChangedDuringTheSubmitIsRefused) {
  JobSpec s = two_by_two();
  const auto path = temp_file("changing.jsonl", "{\"id\":\"a\",\"prompt\":\"A\"}\n");
  use_questions_file(s, path);
  PlanStream stream(s, 1, "t");
  PlanChunk chunk;
  ASSERT_TRUE(stream.next(2, chunk));  // the first (region, model) pass: a/0, a/1
  std::ofstream(path, std::ios::binary) << "{\"id\":\"a\",\"prompt\":\"changed\"}\n";
  EXPECT_THROW(
      {
        while (stream.next(2, chunk)) {
        }
      },
      SpecError);
}

TEST(PlanStream, AFilesQuestionsAreHandedOutOnceForTheirPromptsToBeStored) {
  JobSpec s = two_by_two();
  use_questions_file(s, temp_file("qp.jsonl", "{\"id\":\"b\",\"prompt\":\"B\"}\n{\"id\":\"a\",\"prompt\":\"A\"}\n"));
  PlanStream stream(s, 1, "t");
  PlanChunk chunk;
  std::vector<std::string> seen;
  while (stream.next(3, chunk))
    for (const auto& q : chunk.file_questions) seen.push_back(q.id + "=" + q.prompt);
  EXPECT_EQ(seen, (std::vector<std::string>{"b=B", "a=A"})) << "each question once, in file order";

  JobSpec inline_spec = two_by_two();
  inline_spec.questions = {{"x", "X"}};
  PlanStream inline_stream(inline_spec, 1, "t");
  while (inline_stream.next(3, chunk)) EXPECT_TRUE(chunk.file_questions.empty()) << "inline prompts are in the spec";
}

TEST(PlanStream, InlineAndNoQuestionsMatchTheExecutionCount) {
  JobSpec s = two_by_two();
  EXPECT_EQ(s.plan(1, "t").size(), s.execution_count());  // no questions: one per (region, model, sample)
  s.questions = {{"x", "X"}, {"y", "Y"}, {"z", "Z"}};
  EXPECT_EQ(s.plan(1, "t").size(), 24u);
}

TEST(QuestionsFileDigest, SameQuestionsInJsonlAndCsvHashAlikeAndTheCanonicalSpecNamesNoPath) {
  const auto jsonl = scan_questions_file(temp_file("d.jsonl", "{\"id\":\"a\",\"prompt\":\"x,\\\"y\\\"\"}\n"));
  const auto csv = scan_questions_file(temp_file("d.csv", "id,prompt\na,\"x,\"\"y\"\"\"\n"));
  EXPECT_EQ(jsonl.count, 1u);
  EXPECT_EQ(jsonl.sha256_hex, csv.sha256_hex);
  JobSpec s = two_by_two();
  use_questions_file(s, temp_file("d2.jsonl", "{\"id\":\"a\",\"prompt\":\"x,\\\"y\\\"\"}\n"));
  const std::string canonical = s.canonical_json();
  EXPECT_NE(canonical.find("\"questions_file\":{\"count\":1,\"sha256\":\"" + jsonl.sha256_hex + "\"}"),
            std::string::npos)
      << canonical;
  EXPECT_EQ(canonical.find("d2.jsonl"), std::string::npos) << "the path is not part of the job's identity";
  // The stored form parses back (the dashboard reads it) without any file.
  const JobSpec back = parse_job_spec(canonical);
  ASSERT_TRUE(back.questions_file.has_value());
  EXPECT_EQ(back.execution_count(), s.execution_count());
}

}  // namespace
}  // namespace beacon

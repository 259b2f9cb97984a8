#include <beacon/dashboard/api_json.hpp>

#include <gtest/gtest.h>

#include <beacon/views/from_db.hpp>

#include <beacon/core/json.hpp>

namespace beacon::dashboard {
namespace {

JobView sample_job() {
  JobView v;
  v.job.job_id = "j1";
  v.job.status = "running";
  v.job.created_at = "2026-12-01T10:00:00.000Z";
  v.job.counts.total = 4;
  v.job.counts.completed = 2;
  v.job.counts.running = 1;
  v.job.counts.pending = 1;
  v.job.counts.refused = 1;
  views::GroupRow q;
  q.group = "math_basic";
  q.counts = v.job.counts;
  v.questions = {q};
  q.group = "us-east";
  v.regions = {q};
  q.group = "m1";
  v.models = {q};
  v.version = 1764583200123456;
  return v;
}

TEST(ApiJson, JobIsStatusJsonPlusGroupsAndVersion) {
  const auto doc = json::parse(render_job_json(sample_job()));
  EXPECT_EQ(json::get_string(doc, "job_id"), "j1");
  EXPECT_EQ(json::get_int(doc, "total"), 4);
  EXPECT_EQ(json::get_int(doc, "done"), 2);
  EXPECT_EQ(json::get_int(doc, "refused"), 1);
  EXPECT_EQ(doc["questions"][0]["id"].GetString(), std::string("math_basic"));
  EXPECT_EQ(doc["regions"][0]["id"].GetString(), std::string("us-east"));
  EXPECT_EQ(doc["models"][0]["id"].GetString(), std::string("m1"));
  EXPECT_EQ(json::get_string(doc, "version"), "1764583200123456");
  EXPECT_EQ(json::get_string(doc, "matrix"), "cells");
  EXPECT_TRUE(doc["started_at"].IsNull());
}

TEST(ApiJson, JobListHasNoGroupRows) {
  const auto doc = json::parse(render_job_list_json({sample_job()}));
  ASSERT_EQ(doc["jobs"].Size(), 1u);
  EXPECT_FALSE(doc["jobs"][0].HasMember("questions"));
  EXPECT_EQ(doc["jobs"][0]["job_id"].GetString(), std::string("j1"));
}

TEST(ApiJson, MatrixCellsAreCompactArrays) {
  MatrixPage m;
  m.job_id = "j1";
  m.cells = {{"q", "m", "r", 0, "completed", std::string("refused")}, {"q", "m", "r2", 1, "pending", std::nullopt}};
  const auto doc = json::parse(render_matrix_json(m));
  ASSERT_EQ(doc["cells"].Size(), 2u);
  EXPECT_EQ(doc["cells"][0][5].GetString(), std::string("refused"));
  EXPECT_TRUE(doc["cells"][1][5].IsNull());
  EXPECT_EQ(json::get_string(doc, "mode"), "cells");
}

TEST(ApiJson, ExecutionKeepsHostileTextAsAString) {
  ExecutionDetail d;
  d.row.key = ExecutionKey{"j1", "us-east", "m1", "q1", 0};
  d.row.status = ExecStatus::completed;
  d.row.output_json = R"({"text":"<script>alert(1)</script><img src=x onerror=alert(2)>","classification":"answered"})";
  d.regions = {d.row};
  d.divergence = 0.25;
  const auto doc = json::parse(render_execution_json(d));
  EXPECT_EQ(json::get_string(doc, "text"), "<script>alert(1)</script><img src=x onerror=alert(2)>");
  EXPECT_EQ(doc["output"]["classification"].GetString(), std::string("answered"));
  EXPECT_EQ(doc["regions"].Size(), 1u);
  EXPECT_DOUBLE_EQ(doc["divergence"].GetDouble(), 0.25);
  EXPECT_TRUE(doc["error"].IsNull());
}

TEST(ApiJson, AnswerTextOfOddOutputsIsEmpty) {
  EXPECT_EQ(views::answer_text(std::nullopt), "");
  EXPECT_EQ(views::answer_text(std::string("[1]")), "");
  EXPECT_EQ(views::answer_text(std::string(R"({"text":"hi"})")), "hi");
}

}  // namespace
}  // namespace beacon::dashboard

#include <beacon/db/event_batch.hpp>

#include <gtest/gtest.h>

#include <beacon/core/json.hpp>

namespace beacon::db {
namespace {

ResultEvent event(EventKind kind, const std::string& question, std::string started_at = "") {
  ResultEvent e;
  e.event = kind;
  e.key = ExecutionKey{"job-1", "us-east", "m1", question, 0};
  e.worker_id = "w1";
  e.started_at = std::move(started_at);
  return e;
}

TEST(ReducePerKey, HighestRankWinsWhateverTheOrder) {
  std::vector<ResultEvent> batch = {event(EventKind::completed, "q1"), event(EventKind::started, "q1"),
                                    event(EventKind::failed, "q1")};
  auto r = reduce_per_key(batch);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].winner, 0u);
  EXPECT_EQ(r[0].members, (std::vector<std::size_t>{0, 1, 2}));
}

TEST(ReducePerKey, EqualRankKeepsTheLater) {
  std::vector<ResultEvent> batch = {event(EventKind::failed, "q1"), event(EventKind::failed, "q1")};
  batch[1].attempt = 2;
  auto r = reduce_per_key(batch);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].winner, 1u);
}

TEST(ReducePerKey, OneEntryPerKeyInKeyOrder) {
  std::vector<ResultEvent> batch = {event(EventKind::started, "q2"), event(EventKind::started, "q1"),
                                    event(EventKind::completed, "q2")};
  auto r = reduce_per_key(batch);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(batch[r[0].winner].key.question_id, "q1");
  EXPECT_EQ(r[1].winner, 2u);
  EXPECT_EQ(r[1].members, (std::vector<std::size_t>{0, 2}));
}

TEST(ReducePerKey, WinnerWithoutStartTimeBorrowsTheStartedOne) {
  std::vector<ResultEvent> batch = {event(EventKind::started, "q1", "2026-01-01T00:00:00Z"),
                                    event(EventKind::completed, "q1")};
  auto r = reduce_per_key(batch);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].winner, 1u);
  EXPECT_EQ(r[0].started_at, "2026-01-01T00:00:00Z");
}

TEST(EncodeEvents, CarriesStatusTimesAndOutcome) {
  ResultEvent e = event(EventKind::completed, "q1", "1970-01-01T00:00:01Z");
  e.completed_at = "not a time";
  e.output = Output{std::string("hi\0", 3), Classification::refused, "stop", 3, std::nullopt};
  e.receipt = Receipt{"http://gpu/v1", "id-1", 200, 12.5, "{bad json"};
  std::vector<ResultEvent> batch = {e};
  const std::string json = encode_events(batch, reduce_per_key(batch));
  json::Document doc = json::parse(json);
  ASSERT_TRUE(doc.IsArray());
  const auto& x = doc[0];
  EXPECT_EQ(x["i"].GetInt(), 0);
  EXPECT_STREQ(x["status"].GetString(), "completed");
  EXPECT_EQ(x["started_us"].GetInt64(), 1'000'000);
  EXPECT_TRUE(x["completed_us"].IsNull());  // malformed: the database uses its clock
  EXPECT_STREQ(x["classification"].GetString(), "refused");
  EXPECT_EQ(std::string(x["output"]["text"].GetString()), "hi\xEF\xBF\xBD");
  EXPECT_EQ(x["prompt_tokens"].GetInt64(), 3);
  EXPECT_TRUE(x["completion_tokens"].IsNull());
  EXPECT_DOUBLE_EQ(x["latency_ms"].GetDouble(), 12.5);
  EXPECT_STREQ(x["receipt"]["provider_receipt"].GetString(), "{bad json");  // kept, as a string
  EXPECT_TRUE(x["error"].IsNull());
}

TEST(EncodeEvents, StartedMapsToRunning) {
  std::vector<ResultEvent> batch = {event(EventKind::started, "q1")};
  json::Document doc = json::parse(encode_events(batch, reduce_per_key(batch)));
  EXPECT_STREQ(doc[0]["status"].GetString(), "running");
  EXPECT_TRUE(doc[0]["output"].IsNull());
}

TEST(EncodeJobIds, DistinctAndSorted) {
  std::vector<ResultEvent> batch = {event(EventKind::started, "q1"), event(EventKind::started, "q1")};
  batch[1].key.job_id = "a-job";
  EXPECT_EQ(encode_job_ids(batch), "[\"a-job\",\"job-1\"]");
}

}  // namespace
}  // namespace beacon::db

// for_each_export_row: the rows `export` writes, from a cursor read one page
// ahead (cursor_pages.hpp), with the answer text handed over as JSON.
#include <stdexcept>
#include <vector>

#include <pqxx/pqxx>

#include <beacon/core/json.hpp>
#include <beacon/db/export_rows.hpp>
#include <beacon/db/jobs_repo.hpp>
#include <beacon/db/progress_store.hpp>

#include "test_db.hpp"

namespace beacon::db::testing {
namespace {

// Owned copies of what a test needs from an ExportRow (which is a view).
struct Seen {
  std::string key;  // region/model/question
  ExecStatus status;
  std::optional<std::string> text_json, receipt_json, started_at;
};

// 2 regions x 2 models x 3 questions = 12 executions; us/m1/* completed,
// us/m2/q1 failed, the rest pending.
class ExportRowsTest : public DbTest {
 protected:
  void SetUp() override {
    DbTest::SetUp();
    if (HasFatalFailure()) return;
    job_ = unique_id("export");
    register_job(conn(), make_spec(job_, {"us", "eu"}, {"m1", "m2"}, {"q1", "q2", "q3"}), "2026-01-01T00:00:00Z");
    apply_events(conn(), {make_event(EventKind::completed, key("us", "m1", "q1")),
                          make_event(EventKind::completed, key("us", "m1", "q2")),
                          make_event(EventKind::completed, key("us", "m1", "q3")),
                          make_event(EventKind::failed, key("us", "m2", "q1"))});
  }
  ExecutionKey key(const std::string& r, const std::string& m, const std::string& q) {
    return ExecutionKey{job_, r, m, q, 0};
  }
  std::vector<Seen> read(std::optional<ExecStatus> only, int page_size) {
    std::vector<Seen> out;
    for_each_export_row(conn(), job_, only, [&](const ExportRow& r) {
      Seen s{std::string(r.region) + "/" + std::string(r.model_id) + "/" + std::string(r.question_id), r.status,
             {}, {}, {}};
      if (r.text_json) s.text_json = std::string(*r.text_json);
      if (r.receipt_json) s.receipt_json = std::string(*r.receipt_json);
      if (r.started_at) s.started_at = std::string(*r.started_at);
      out.push_back(std::move(s));
    }, page_size);
    return out;
  }
  void set_output(const std::string& question, const std::string& output_json) {
    pqxx::nontransaction(conn()).exec_params(
        "UPDATE executions SET output = $2::jsonb WHERE job_id = $1 AND region = 'us' AND model_id = 'm1' "
        "AND question_id = $3",
        job_, output_json, question);
  }
  std::string job_;
};

TEST_F(ExportRowsTest, EveryRowInKeyOrderWhateverThePageSize) {
  for (int page_size : {1, 5, 6, 12, 5000}) {  // 6 and 12 divide the 12 rows exactly
    const auto rows = read(std::nullopt, page_size);
    ASSERT_EQ(rows.size(), 12u) << "page size " << page_size;
    for (std::size_t i = 1; i < rows.size(); ++i) EXPECT_LT(rows[i - 1].key, rows[i].key) << page_size;
    EXPECT_EQ(rows.front().key, "eu/m1/q1");
    EXPECT_EQ(rows.back().key, "us/m2/q3");
  }
  EXPECT_EQ(for_each_export_row(conn(), unique_id("nope"), std::nullopt, [](const ExportRow&) { FAIL(); }), 0u);
}

TEST_F(ExportRowsTest, TheStatusFilterRunsInTheDatabase) {
  EXPECT_EQ(read(ExecStatus::completed, 2).size(), 3u);
  EXPECT_EQ(read(ExecStatus::pending, 2).size(), 8u);
  const auto failed = read(ExecStatus::failed, 2);
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].key, "us/m2/q1");
  EXPECT_EQ(failed[0].status, ExecStatus::failed);
  EXPECT_TRUE(read(ExecStatus::cancelled, 2).empty());
}

TEST_F(ExportRowsTest, TheAnswerTextComesAsAJsonStringThatParsesBackToTheStoredText) {
  // Quotes, backslashes, control characters, non-ASCII and a JSON-looking answer.
  const std::string tricky = "say \"hi\" \\ back\nslash\t\x01\x1f end é 日本 {\"text\":1} </script>";
  rapidjson::StringBuffer b;
  json::Writer w(b);
  w.StartObject();
  w.Key("text");
  w.String(tricky.c_str(), static_cast<rapidjson::SizeType>(tricky.size()));
  w.EndObject();
  set_output("q1", b.GetString());
  set_output("q2", R"({"text": 42})");          // not a string: no text
  set_output("q3", R"({"classification": "empty"})");  // no text at all

  const auto rows = read(ExecStatus::completed, 2);
  ASSERT_EQ(rows.size(), 3u);
  ASSERT_TRUE(rows[0].text_json);
  const json::Document back = json::parse("{\"t\":" + *rows[0].text_json + "}");
  EXPECT_EQ(std::string(back["t"].GetString(), back["t"].GetStringLength()), tricky);
  EXPECT_FALSE(rows[1].text_json) << *rows[1].text_json;
  EXPECT_FALSE(rows[2].text_json);
  ASSERT_TRUE(rows[0].receipt_json);
  EXPECT_EQ(json::parse(*rows[0].receipt_json)["http_status"].GetInt(), 200);
  ASSERT_TRUE(rows[0].started_at);
  EXPECT_EQ(*rows[0].started_at, "2026-01-01T00:00:00.000Z");
}

TEST_F(ExportRowsTest, AnErrorFromTheCallerStopsTheWalkAndTheConnectionStaysUsable) {
  int seen = 0;
  EXPECT_THROW(for_each_export_row(conn(), job_, std::nullopt, [&](const ExportRow&) {
                 if (++seen == 5) throw std::runtime_error("stdout closed");
               }, 2),
               std::runtime_error);
  EXPECT_EQ(seen, 5) << "the walk went on after the error";
  EXPECT_EQ(read(std::nullopt, 3).size(), 12u) << "the connection is usable again";
}

}  // namespace
}  // namespace beacon::db::testing

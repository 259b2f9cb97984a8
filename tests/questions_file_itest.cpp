// Questions from files (issue 9): JSONL and CSV through the real producer
// against the real broker and database. Good files are enqueued with their
// prompts intact (quotes, commas, line breaks); each kind of bad line is exit
// 2 naming file:line with nothing written and nothing enqueued; a job's
// identity is its questions' content, not the file's name or format.
#include <map>

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <beacon/amqp/topology.hpp>

#include "support/faults.hpp"
#include "support/fleet.hpp"
#include "support/wait.hpp"

namespace beacon::test {
namespace {

using namespace std::chrono_literals;

std::string spec_with(const std::string& region, const std::string& questions_field) {
  return R"({"models":["m1"],"regions":[")" + region + R"("],)" + questions_field +
         R"(,"samples":1,"params":{"max_tokens":16}})";
}

// Prompts of every message now in the region's queue, by question id (acked: taken out).
std::map<std::string, std::string> take_prompts(const std::string& region, std::size_t expected) {
  std::map<std::string, std::string> out;
  consume_settling(
      amqp::exec_queue(region),
      [&](const amqp::Delivery& d, bool& stop) {
        rapidjson::Document doc;
        doc.Parse(d.body.c_str(), d.body.size());
        if (!doc.HasParseError() && doc.IsObject() && doc.HasMember("question_id") && doc.HasMember("prompt"))
          out[doc["question_id"].GetString()] = doc["prompt"].GetString();
        stop = out.size() >= expected;
        return true;
      },
      30s, 3s);
  return out;
}

bool no_job(Fleet& f, const std::string& job) { return !f.job(job).has_value(); }

TEST(QuestionsFile, JsonlAndCsvAreEnqueuedWithTheirPromptsIntact) {
  Fleet f("qfile-good");
  const auto region = "qf-" + unique_suffix();
  // JSONL: blank lines and a CRLF line are fine; escapes decode.
  f.write_file("q.jsonl",
               "{\"id\":\"j1\",\"prompt\":\"Plain?\"}\n"
               "\n"
               "{\"prompt\":\"Say \\\"hi\\\", then stop.\",\"id\":\"j2\"}\r\n"
               "{\"id\":\"j3\",\"prompt\":\"Two\\nlines\"}\n");
  const auto job = "qf-jsonl-" + unique_suffix();
  auto s = f.submit(spec_with(region, R"("questions_file":"q.jsonl")"), job);
  ASSERT_EQ(s.exit_code, 0) << s.out << s.err;
  EXPECT_EQ(s.total, 3);
  EXPECT_EQ(s.enqueued, 3);
  auto e = f.executions(job);
  EXPECT_EQ(e.rows, 3);
  EXPECT_EQ(e.distinct_keys, 3);
  auto prompts = take_prompts(region, 3);
  EXPECT_EQ(prompts["j1"], "Plain?");
  EXPECT_EQ(prompts["j2"], "Say \"hi\", then stop.");
  EXPECT_EQ(prompts["j3"], "Two\nlines");

  // CSV: BOM, columns in either order, RFC 4180 quoting with "" and a
  // quoted line break, CRLF records, a final record without a line break.
  f.write_file("q.csv",
               "\xEF\xBB\xBFprompt,id\r\n"
               "Plain?,c1\r\n"
               "\"Say \"\"hi\"\", then stop.\",c2\r\n"
               "\"Two\r\nlines, and a comma\",c3\r\n"
               "Caf\xC3\xA9?,c4");
  const auto csv_job = "qf-csv-" + unique_suffix();
  // A region of its own: submitted beside the JSONL job's pending work, it
  // would get a lane (docs/fair-share.md), not the region queue read here.
  const auto csv_region = "qf-csv-" + unique_suffix();
  // The flag wins over the spec's questions_file; it is relative to the working directory.
  auto c = f.producer({"submit", f.write_file("csv-spec.json", spec_with(csv_region, R"("questions_file":"q.jsonl")")),
                       "--questions", f.dir() + "/q.csv", "--job-id", csv_job});
  ASSERT_EQ(c.exit_code, 0) << c.out << c.err;
  EXPECT_NE(c.out.find("\"total\":4"), std::string::npos) << c.out;
  EXPECT_EQ(f.executions(csv_job).rows, 4);
  prompts = take_prompts(csv_region, 4);
  EXPECT_EQ(prompts["c1"], "Plain?");
  EXPECT_EQ(prompts["c2"], "Say \"hi\", then stop.");
  EXPECT_EQ(prompts["c3"], "Two\r\nlines, and a comma");
  EXPECT_EQ(prompts["c4"], "Caf\xC3\xA9?");

  // The job is its questions' content: the same questions in CSV under the
  // JSONL job's id are the same spec (a resume); one changed prompt is not.
  f.write_file("same.csv", "id,prompt\nj1,Plain?\nj2,\"Say \"\"hi\"\", then stop.\"\nj3,\"Two\nlines\"\n");
  auto same = f.submit(spec_with(region, R"("questions_file":"same.csv")"), job);
  EXPECT_EQ(same.exit_code, 0) << same.out << same.err;
  EXPECT_EQ(same.enqueued, 3) << "a resume enqueues what is not completed";
  f.write_file("other.csv", "id,prompt\nj1,Plain?\nj2,Changed\nj3,\"Two\nlines\"\n");
  auto other = f.submit(spec_with(region, R"("questions_file":"other.csv")"), job);
  EXPECT_EQ(other.exit_code, 2) << other.out << other.err;
  EXPECT_NE(other.err.find("a different spec is registered under this id"), std::string::npos) << other.err;
  delete_queue(amqp::exec_queue(region));
  delete_queue(amqp::exec_queue(csv_region));
}

struct BadFile {
  const char* name;
  const char* content;
  const char* expect;  // in stderr, after "name:"
};

TEST(QuestionsFile, EachKindOfBadLineIsExitTwoNamingTheLineWithNothingWritten) {
  Fleet f("qfile-bad");
  const std::string long_prompt(33 * 1024, 'x');
  const std::string oversize = "{\"id\":\"a\",\"prompt\":\"" + long_prompt + "\"}\n";
  const std::vector<BadFile> cases = {
      {"bad-json.jsonl", "{\"id\":\"a\",\"prompt\":\"A\"}\n{\"id\":\"b\",\"prompt\":\"B\"}\n{\"id\":\"c\",\n", ":3: "},
      {"not-object.jsonl", "[\"a\",\"A\"]\n", ":1: must be a JSON object"},
      {"unknown-field.jsonl", "{\"id\":\"a\",\"prompt\":\"A\",\"answer\":\"x\"}\n", ":1: unknown field 'answer'"},
      {"no-prompt.jsonl", "{\"id\":\"a\"}\n", ":1: missing field 'prompt'"},
      {"empty-prompt.jsonl", "{\"id\":\"a\",\"prompt\":\"A\"}\n{\"id\":\"b\",\"prompt\":\"\"}\n",
       ":2: prompt: must not be empty"},
      {"bad-id.jsonl", "{\"id\":\"has space\",\"prompt\":\"A\"}\n", ":1: id: 'has space' does not match"},
      {"dup.jsonl", "{\"id\":\"a\",\"prompt\":\"A\"}\n\n{\"id\":\"a\",\"prompt\":\"B\"}\n",
       ":3: duplicate question id 'a' (first on line 1)"},
      {"oversize.jsonl", oversize.c_str(), ":1: prompt: is 33792 bytes, the limit is 32768"},
      {"bad-utf8.jsonl", "{\"id\":\"a\",\"prompt\":\"\xC3\x28\"}\n", ":1: invalid JSON"},
      {"empty.jsonl", "\n\n", "holds no questions"},
      {"no-header.csv", "a,A\n", ":1: header: unexpected column 'a'"},
      {"missing-col.csv", "id\na\n", ":1: header: needs the columns id and prompt"},
      {"fields.csv", "id,prompt\na,A\nb,B,extra\n", ":3: has 3 fields, the header has 2"},
      {"unterminated.csv", "id,prompt\na,\"A\nb,B\n", ":2: unterminated quoted field"},
      {"stray-quote.csv", "id,prompt\na,A \"quoted\"\n", ":2: a quote inside an unquoted field"},
      {"after-quote.csv", "id,prompt\na,\"A\"x\n", ":2: text after a closing quote"},
      {"empty-prompt.csv", "id,prompt\na,\n", ":2: prompt: must not be empty"},
      {"dup.csv", "id,prompt\na,A\nb,B\na,C\n", ":4: duplicate question id 'a' (first on line 2)"},
      {"bad-utf8.csv", "id,prompt\na,\xFF\n", ":2: field 2 is not valid UTF-8"},
      {"header-only.csv", "id,prompt\n", "holds no questions"},
      {"questions.txt", "a\n", "unknown format"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const auto region = "qfb-" + unique_suffix();
    const auto job = "qfb-" + unique_suffix();
    f.write_file(c.name, c.content);
    auto s = f.submit(spec_with(region, std::string(R"("questions_file":")") + c.name + "\""), job);
    EXPECT_EQ(s.exit_code, 2) << s.out << s.err;
    EXPECT_NE(s.err.find(c.expect), std::string::npos) << "stderr: " << s.err;
    if (c.expect[0] == ':') {
      EXPECT_NE(s.err.find(std::string(c.name) + c.expect), std::string::npos) << s.err;
    }
    EXPECT_TRUE(no_job(f, job)) << "a bad file must write nothing";
    EXPECT_EQ(queue_depth(amqp::exec_queue(region)), -1) << "a bad file must declare and enqueue nothing";
  }
  // Inline questions and a file at once: refused, not merged.
  const auto job = "qfb-both-" + unique_suffix();
  f.write_file("ok.jsonl", "{\"id\":\"a\",\"prompt\":\"A\"}\n");
  auto both = f.submit(spec_with("qfb-both", R"("questions":[{"id":"b","prompt":"B"}],"questions_file":"ok.jsonl")"), job);
  EXPECT_EQ(both.exit_code, 2) << both.err;
  EXPECT_NE(both.err.find("give the questions one way"), std::string::npos) << both.err;
  auto missing = f.submit(spec_with("qfb-missing", R"("questions_file":"nope.jsonl")"), job);
  EXPECT_EQ(missing.exit_code, 2) << missing.err;
  EXPECT_NE(missing.err.find("cannot read"), std::string::npos) << missing.err;
  EXPECT_TRUE(no_job(f, job));
}

}  // namespace
}  // namespace beacon::test

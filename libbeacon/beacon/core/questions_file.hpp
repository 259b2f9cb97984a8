#pragma once
// Questions read from a file instead of the spec (`"questions_file"` or
// `submit --questions`), streamed: a job of millions of questions is never
// held in memory. Two formats, chosen by the file name:
//   *.jsonl, *.ndjson  one JSON object {"id", "prompt"} per line (blank lines skipped)
//   *.csv              RFC 4180: a header naming the columns `id` and `prompt`
//                      (either order), then one record per question; fields may
//                      be quoted ("" is a quote), quoted fields may hold commas
//                      and line breaks; CRLF or LF; a UTF-8 BOM is skipped.
// Every question passes the checks of an inline one (id syntax, prompt not
// empty and at most kMaxPromptBytes, no unknown field, no duplicate id);
// errors name the file and the line ("q.csv:12: prompt: must not be empty").
#include <cstddef>
#include <fstream>
#include <memory>
#include <string>

#include <beacon/core/spec.hpp>

namespace beacon {

enum class QuestionsFormat { kJsonl, kCsv };

// A JSONL line or CSV record longer than this is refused (bounded memory).
inline constexpr std::size_t kMaxQuestionRecordBytes = 256 * 1024;

// Reads one pass over a questions file, one question at a time.
class QuestionsReader {
 public:
  // Throws SpecError("questions_file", ...) when the file cannot be opened or
  // its name says no known format.
  explicit QuestionsReader(const std::string& path);
  ~QuestionsReader();
  QuestionsReader(const QuestionsReader&) = delete;
  QuestionsReader& operator=(const QuestionsReader&) = delete;

  // The next question, validated except for duplicates (that needs the whole
  // file: see scan_questions_file). false at the end of the file. Throws
  // SpecError naming path:line.
  bool next(Question& out);
  // Line on which the last question returned (or the failing one) started.
  std::size_t line() const { return record_line_; }
  QuestionsFormat format() const { return format_; }

 private:
  bool next_jsonl(Question& out);
  bool next_csv(Question& out);
  bool read_csv_record(std::string fields[], std::size_t max_fields, std::size_t& count);
  [[noreturn]] void fail(const std::string& what) const;

  std::string path_;
  QuestionsFormat format_;
  std::ifstream in_;
  std::size_t line_ = 0;         // lines consumed so far
  std::size_t record_line_ = 0;  // first line of the current record
  int id_col_ = -1, prompt_col_ = -1;
  std::size_t columns_ = 0;
};

// What a full validation pass found: the questions' count and a SHA-256 of
// their content (ids and prompts in order, not the file's bytes: the same
// questions in CSV or JSONL are the same job). Throws SpecError naming the
// line of the first bad question, or of the second occurrence of a duplicate
// id; "no questions" for an empty file.
struct QuestionsDigest {
  std::size_t count = 0;
  std::string sha256_hex;
};
QuestionsDigest scan_questions_file(const std::string& path);

// Feeds one question into a running content digest (shared by the scan and
// by each later pass, which checks that the file did not change meanwhile).
class QuestionsHasher {
 public:
  QuestionsHasher();
  ~QuestionsHasher();
  QuestionsHasher(const QuestionsHasher&) = delete;
  QuestionsHasher& operator=(const QuestionsHasher&) = delete;
  void add(const Question& q);
  std::string finish_hex();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace beacon

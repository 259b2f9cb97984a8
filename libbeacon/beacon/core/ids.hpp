#pragma once
// Identifier rules shared by the spec validator, the wire decoder and the CLI.
#include <string>
#include <string_view>

namespace beacon {

// Ids (job, region, model, question) match [A-Za-z0-9._:-]{1,128}.
// Regions and models also appear in queue names and routing keys, hence the
// conservative alphabet.
bool is_valid_id(std::string_view id);

// The key of one execution, and of its row in `executions`.
struct ExecutionKey {
  std::string job_id;
  std::string region;
  std::string model_id;
  std::string question_id;  // "" for a job without questions
  int sample = 0;           // 0-based

  // "job/region/model/question/sample", the AMQP message_id.
  std::string message_id() const;
  // "job=.. region=.. model=.. question=.. sample=..", for every log line.
  std::string log_context() const;
  bool operator==(const ExecutionKey&) const = default;
  auto operator<=>(const ExecutionKey&) const = default;
};

}  // namespace beacon

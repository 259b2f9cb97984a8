#pragma once
// A job's planned executions generated on the fly, chunk by chunk, in plan
// order (region, model, question, sample): `submit` registers and enqueues a
// chunk at a time, so memory stays bounded by the chunk, not the job. With a
// questions file the file is read once per (region, model); each pass is
// checked against the digest taken when the spec was parsed, so a file
// changed during the submit is an error, never a silently different job.
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include <beacon/core/messages.hpp>
#include <beacon/core/spec.hpp>

namespace beacon {

class QuestionsReader;
class QuestionsHasher;

struct PlanChunk {
  std::vector<ExecutionMessage> messages;
  std::vector<int> question_ord;  // position of each message's question in the spec (report order)
  // Questions from a questions file that this chunk meets first (the plan's
  // first (region, model) pass): submit stores their prompts (job_questions),
  // which the stored spec does not hold. Empty for inline questions.
  std::vector<Question> file_questions;
};

class PlanStream {
 public:
  // `spec` must outlive the stream.
  PlanStream(const JobSpec& spec, int submission, std::string enqueued_at);
  ~PlanStream();
  PlanStream(const PlanStream&) = delete;
  PlanStream& operator=(const PlanStream&) = delete;

  // Replaces `out` with the next at most `max` executions; false (and `out`
  // empty) once the plan is exhausted. Throws SpecError when the questions
  // file no longer holds the questions it held at parse time.
  bool next(std::size_t max, PlanChunk& out);
  std::size_t produced() const { return produced_; }

 private:
  bool load_question();  // sets question_ for question index q_; false at the end of the questions
  void end_file_pass();

  const JobSpec& spec_;
  int submission_;
  std::string enqueued_at_;
  std::size_t r_ = 0, m_ = 0, q_ = 0;
  int s_ = 0;
  std::size_t produced_ = 0;
  bool have_question_ = false;
  Question question_;
  std::unique_ptr<QuestionsReader> reader_;
  std::unique_ptr<QuestionsHasher> hasher_;
};

}  // namespace beacon

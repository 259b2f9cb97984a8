#pragma once
// The job spec given to `beacon-producer submit` (SPEC.md "Job spec"), its
// validation, and its expansion into planned executions.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <beacon/core/budget.hpp>
#include <beacon/core/messages.hpp>
#include <beacon/core/reuse.hpp>

namespace beacon {

inline constexpr int kMaxSamples = 1000;
inline constexpr std::size_t kMaxPromptBytes = 32 * 1024;
inline constexpr std::size_t kMaxSpecBytes = 16 * 1024 * 1024;
// Above this a job is almost certainly a mistake (a typo in samples).
inline constexpr std::size_t kMaxExecutions = 5'000'000;
// "priority" (fair share, docs/fair-share.md): a job's weight against the
// other jobs with work in a region. Absent counts as kMinPriority.
inline constexpr int kMinPriority = 1;
inline constexpr int kMaxPriority = 10;

struct Question {
  std::string id;
  std::string prompt;
};

// The questions of a job kept in a file (questions_file.hpp): never loaded
// whole, identified by the digest of their content.
struct QuestionsFileRef {
  std::string path;         // as opened (resolved against the spec's directory); "" in a stored spec
  std::size_t count = 0;    // questions in the file
  std::string sha256_hex;   // QuestionsHasher over the questions in order
};

struct JobSpec {
  std::string job_id;  // empty when the spec has none and none was given
  std::vector<std::string> models;
  std::vector<std::string> regions;
  std::vector<Question> questions;  // empty (and no file): one execution per (region, model)
  std::optional<QuestionsFileRef> questions_file;  // set: the questions are in this file, `questions` is empty
  int samples = 1;
  std::string system_prompt;
  std::string params_json = "{}";
  // "reuse": "completed" (core/reuse.hpp); absent = none. In the canonical
  // form only when set, so the specs of jobs stored before it stay equal.
  ReusePolicy reuse = ReusePolicy::none;
  // "budget" (core/budget.hpp); in the canonical form only when set. A re-submit
  // may change it (raise it to resume a job it stopped), and the priority.
  std::optional<JobBudget> budget;
  // "priority" 1..10: the job gets its own queue (lane) in every region, of
  // this weight (db/lanes.hpp). Like the budget, in the canonical form only
  // when set and not part of the job's identity: a re-submit may change it.
  std::optional<int> priority;

  std::size_t execution_count() const;
  std::size_t question_count() const;  // inline or in the file; 0: none
  // The spec in a canonical JSON form (bank questions expanded, job_id
  // included): what Postgres stores and what a re-submit is compared with.
  // A questions file appears as {"questions_file": {"count", "sha256"}}: the
  // same questions give the same spec wherever the file lives.
  std::string canonical_json() const;
  // Every planned execution, ordered region, model, question, sample (small
  // jobs and tests; submit streams the plan with PlanStream instead).
  std::vector<ExecutionMessage> plan(int submission, const std::string& enqueued_at) const;
};

// Validates before anything is written. Throws SpecError naming the field.
// A "questions_file" path is resolved against spec_dir and the file is read
// once through (every question validated, duplicates found); its stored,
// canonical form {"count", "sha256"} is accepted too (no file is read then).
JobSpec parse_job_spec(std::string_view text, const std::string& spec_dir = ".");

// Puts the questions of `path` into the spec (validating the whole file;
// replaces a questions_file the spec named). Throws SpecError when the spec
// also has inline questions, or the file is bad, or the plan gets too big.
void use_questions_file(JobSpec& spec, const std::string& path);

// The checks every question passes, inline or from a file. Throws SpecError
// naming id_field or prompt_field.
void validate_question(const Question& q, const std::string& id_field, const std::string& prompt_field);

// The eight Beacon questions shipped with the project.
const std::vector<Question>& question_bank();

// A fresh job id: "job-YYYYMMDD-HHMMSS-xxxxxx".
std::string generate_job_id();

}  // namespace beacon

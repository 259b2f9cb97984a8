#pragma once
// The job spec given to `beacon-producer submit` (SPEC.md "Job spec"), its
// validation, and its expansion into planned executions.
#include <string>
#include <string_view>
#include <vector>

#include <beacon/core/messages.hpp>

namespace beacon {

inline constexpr int kMaxSamples = 1000;
inline constexpr std::size_t kMaxPromptBytes = 32 * 1024;
inline constexpr std::size_t kMaxSpecBytes = 16 * 1024 * 1024;

struct Question {
  std::string id;
  std::string prompt;
};

struct JobSpec {
  std::string job_id;  // empty when the spec has none and none was given
  std::vector<std::string> models;
  std::vector<std::string> regions;
  std::vector<Question> questions;  // empty: one execution per (region, model)
  int samples = 1;
  std::string system_prompt;
  std::string params_json = "{}";

  std::size_t execution_count() const;
  // The spec in a canonical JSON form (bank questions expanded, job_id
  // included): what Postgres stores and what a re-submit is compared with.
  std::string canonical_json() const;
  // Every planned execution, ordered region, model, question, sample.
  std::vector<ExecutionMessage> plan(int submission, const std::string& enqueued_at) const;
};

// Validates before anything is written. Throws SpecError naming the field.
JobSpec parse_job_spec(std::string_view text);

// The eight Beacon questions shipped with the project.
const std::vector<Question>& question_bank();

// A fresh job id: "job-YYYYMMDD-HHMMSS-xxxxxx".
std::string generate_job_id();

}  // namespace beacon

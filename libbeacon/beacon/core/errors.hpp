#pragma once
// Typed errors shared by every part. A failure is a value with a kind that
// travels to the result event and the log line (STYLE.md, lesson 5).
#include <stdexcept>
#include <string>

namespace beacon {

// Input that can never succeed however often it is retried: a malformed
// message, a spec that breaks the rules. Goes to beacon.dead or exit code 2.
class BadInput : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A job spec that breaks a rule; `field` names the offending field so the
// user can find it ("models[2]", "questions[0].id", "samples").
class SpecError : public BadInput {
 public:
  SpecError(std::string field, const std::string& message)
      : BadInput(field + ": " + message), field_(std::move(field)) {}
  const std::string& field() const { return field_; }

 private:
  std::string field_;
};

}  // namespace beacon

#pragma once
// The control protocol (SPEC.md, decisions; D1): one fanout exchange,
// beacon.control, that every worker binds a private queue to. Its one message
// today is the cancel notice:
//
//     {"v":1,"type":"cancel","job_id":J,"submission":N,"reason":R}
//
// R (cancel_reason.hpp) says why: "cancel" (beacon-producer cancel) or
// "budget_exhausted" (the progress-writer stopped the job at its budget);
// workers put it on the `cancelled` events of what they drop. Absent (an
// older part): "cancel".
// N is jobs.submissions when the cancel was made. The rule, end to end: a
// cancel of (J, N) drops every execution message of job J with submission
// <= N that has not reached the endpoint (still queued in RabbitMQ, or waiting
// inside a worker for an endpoint slot); requests already on the wire finish
// and are kept. Messages with submission > N (a later re-submit) are never
// touched. A notice without "submission" (an older producer) cancels
// submission 1 only.
#include <string>
#include <string_view>

#include <beacon/core/cancel_reason.hpp>
#include <beacon/core/messages.hpp>

namespace beacon {

struct CancelNotice {
  std::string job_id;
  int submission = 1;
  CancelReason reason = CancelReason::cancel;
};

std::string encode(const CancelNotice&);
// Throws BadInput (reason names the field) for a malformed or unknown message.
CancelNotice decode_control(std::string_view body);

// The rule above: does `notice` drop `message`?
bool cancels(const CancelNotice& notice, const ExecutionMessage& message);

}  // namespace beacon

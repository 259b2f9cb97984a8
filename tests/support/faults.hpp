#pragma once
// Tools for the resilience, poison and chaos tests: inject faults (restart
// the broker or the database of scripts/test.sh), publish raw bytes where a
// part listens, read beacon.dead, and watch a part through the /metrics and
// /readyz it serves. Every wait is bounded.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <beacon/amqp/client.hpp>

#include "process.hpp"
#include "scoped_env.hpp"

namespace beacon::test {


// The port a part logged as "metrics on HOST:PORT" (start it with
// --metrics-addr 127.0.0.1:0); 0 when it did not within `timeout`.
int logged_metrics_port(Process& p, std::chrono::milliseconds timeout = std::chrono::seconds(15));
// A metric summed over its label sets. A metric that is absent, or a part
// that does not answer /metrics, FAILS the calling test (ADD_FAILURE) and
// gives NaN, which no comparison accepts: "missing" never passes for 0.
double scrape(int port, const std::string& metric);
// The same for polling (a labelled metric appears with its first sample):
// nullopt while absent or unreachable, which compares below every value.
std::optional<double> try_scrape(int port, const std::string& metric);
// GET /readyz answered "ready".
bool is_ready(int port);

// "$BEACON_SERVICES_SCRIPT" restart-rabbitmq|restart-postgres "$BEACON_SERVICES_DIR".
// `which` is "rabbitmq" or "postgres". Returns the exit code and output.
RunResult restart_service(const std::string& which, std::chrono::milliseconds timeout = std::chrono::seconds(180));

// One message as a misbehaving publisher would send it.
struct RawMessage {
  std::string exchange;
  std::string routing_key;
  std::string body;
  std::string message_id;
  std::map<std::string, std::string> headers;
};
// Publishes with confirms; fails the calling test when one is refused.
void publish_raw(const std::vector<RawMessage>& messages);

// Takes from beacon.dead every message for which `mine` holds, until
// `expected` of them were seen or `timeout` passed; acks those, leaves the
// rest in the queue. With expected == 0 it reads what the queue holds now
// and returns the matches (for "no dead letters").
std::vector<amqp::Delivery> take_dead_letters(const std::function<bool(const amqp::Delivery&)>& mine,
                                              std::size_t expected, std::chrono::milliseconds timeout);

// Ready messages in `queue` (passive declare), -1 when it does not exist.
long queue_depth(const std::string& queue);
void delete_queue(const std::string& queue);

// A one-off consumer of `queue` (prefetch 1) that hands each delivery to
// `on` and settles it as `on` says: true ack, false reject with requeue. Stops
// when `on` sets `stop`, when nothing arrived for `idle` (if > 0), or at
// `timeout`. Returns the deliveries seen.
std::size_t consume_settling(const std::string& queue,
                             const std::function<bool(const amqp::Delivery&, bool& stop)>& on,
                             std::chrono::milliseconds timeout,
                             std::chrono::milliseconds idle = std::chrono::milliseconds(0),
                             std::uint16_t prefetch = 1);  // more: fast draining of big queues

class Fleet;

// A job spec: regions x models x `questions` inline questions with prompts
// unique to `tag` (so the sim counts a second call for one execution as a
// duplicate, never two executions as one), samples 1.
std::string numbered_spec(const std::vector<std::string>& regions, const std::vector<std::string>& models,
                          int questions, const std::string& tag);

// A field of the fleet's sim /stats ("requests", "completed", "duplicates",
// "completed_duplicates", "in_flight"). A sim that does not answer, or a field
// it does not have, FAILS the calling test (ADD_FAILURE) and gives -1.
long sim_stat(const Fleet& f, const std::string& field);
// The same for polling: nullopt while the sim does not answer.
std::optional<long> try_sim_stat(const Fleet& f, const std::string& field);

// SPEC invariants 1 and 2 on a job's rows, as gtest expectations: rows =
// distinct keys = `total`, and jobs.completed / failed / cancelled equal the
// counts of such rows. `completed` is the expected number of completed rows.
void expect_exact(Fleet& f, const std::string& job, long total, long completed);

}  // namespace beacon::test

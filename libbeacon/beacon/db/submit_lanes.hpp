#pragma once
// Fair share, the submit side (docs/fair-share.md, migration 0014): which
// regions of a job publish to the job's own queue there, its lane
// (amqp::lane_queue), instead of the region queue. Workers consume every lane
// listed in job_lanes beside their region queue, sharing their concurrency by
// weight, so a small job no longer waits behind a big one.
//
// A region uses a lane when
//   * the spec has a priority (its weight is that priority), or
//   * another job has pending or running executions there (weight 1), or
//   * the job has a lane there already (a re-submit keeps it).
// Otherwise (the job is alone and has no priority) it uses the region queue,
// as before lanes existed. The job_lanes rows are written (weight = the
// priority, or 1) by assign_lanes, whose transaction commits before the
// caller publishes anything, so a worker never misses a lane that holds work.
//
// Two jobs submitted at the same moment to an idle region both find it idle
// and share the region queue: "another job has work" is read when the submit
// begins, before either has registered an execution.
#include <optional>
#include <string>
#include <vector>

#include <pqxx/connection>

#include <beacon/core/spec.hpp>

namespace beacon::db {

// Why a region of a job uses a lane (in the order they are reported).
enum class LaneReason { priority, others_busy, kept };

// What the database says about one region of a job.
struct LaneFacts {
  std::string region;
  bool has_lane = false;     // a job_lanes row of this job exists there
  bool others_busy = false;  // another job has pending + running > 0 there
};

// nullopt: the region queue. The reason names the first rule that holds:
// the priority, then another job's work, then the lane kept.
std::optional<LaneReason> lane_reason(const LaneFacts& facts, std::optional<int> priority);

// "own lane (priority 5)", "own lane (another job has work here)", "own lane
// (kept from an earlier submit)": the log line's reason.
std::string describe(LaneReason reason, std::optional<int> priority);

struct Lane {
  std::string region;
  int weight = 1;
  LaneReason reason = LaneReason::priority;
};

// Decides the lanes of spec.job_id (whose jobs row must exist: begin_submit
// first) for every region of the spec and, in one transaction, writes their
// job_lanes rows (a kept lane gets the new weight). Returns them in spec
// region order; regions not listed use the region queue. Throws
// DatabaseUnavailable like every db call.
std::vector<Lane> assign_lanes(pqxx::connection& conn, const JobSpec& spec);

}  // namespace beacon::db

#pragma once
// The human-readable `beacon-producer status` output:
//
//   job bias-2026-11-23 · running · 54/72 (75.0%)
//   completed 50 · failed 4 · running 3 · pending 15 · cancelled 0 · refused 12
//   elapsed 1m12s · ETA 24s
//   ├─ tiananmen_neutral: 9/9 ✅
//   ├─ taiwan_status: 6/9 ⏳
//   └─ greatest_leader: 0/9 ⏸️
//
// A group's mark: ✅ all done, none failed; ❌ all done, some failed;
// ⏳ work started but not finished; ⏸️ nothing started yet.
#include <string>
#include <vector>

#include <beacon/views/progress_model.hpp>

namespace beacon::views {

// "$0.0123" (four decimals below $100, then cents).
std::string format_usd(double usd);
std::string format_duration(double seconds);  // "45s", "1m12s", "2h03m"
std::string group_mark(const Counts& c);
std::string render_status(const JobSummary& job, const std::vector<GroupRow>& groups, const std::string& group_title);
std::string render_status_json(const JobSummary& job, const std::vector<GroupRow>& groups, const std::string& group_key);
std::string render_job_list(const std::vector<JobSummary>& jobs);
std::string render_matrix(const std::vector<MatrixCell>& cells);

}  // namespace beacon::views

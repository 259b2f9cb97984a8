// register_job / cancel_job / status look-ups against a real Postgres.
#include <chrono>
#include <set>
#include <thread>

#include <pqxx/pqxx>

#include <beacon/core/errors.hpp>
#include <beacon/db/jobs_repo.hpp>
#include <beacon/db/progress_store.hpp>

#include "test_db.hpp"

namespace beacon::db::testing {
namespace {

const std::string kNow = "2026-01-01T00:00:00.000Z";

std::vector<ResultEvent> events_for(const std::vector<ExecutionMessage>& msgs, EventKind kind) {
  std::vector<ResultEvent> out;
  for (const auto& m : msgs) out.push_back(make_event(kind, m.key));
  return out;
}

TEST_F(DbTest, NewJobRegistersEveryExecutionPending) {
  const JobSpec spec = spec72(unique_id("reg-new"));
  const Registration r = register_job(conn(), spec, kNow);
  EXPECT_EQ(r.job_id, spec.job_id);
  EXPECT_EQ(r.submission, 1);
  EXPECT_EQ(r.total, 72u);
  EXPECT_EQ(r.enqueued, 72u);
  EXPECT_EQ(r.skipped, 0u);
  ASSERT_EQ(r.to_enqueue.size(), 72u);
  EXPECT_EQ(r.to_enqueue[0].submission, 1);
  EXPECT_EQ(r.to_enqueue[0].enqueued_at, kNow);
  EXPECT_EQ(row_counts(conn(), spec.job_id), (Counts{72, 0, 0, 0, 0}));
  EXPECT_EQ(job_counters(conn(), spec.job_id), (Counts{72, 0, 0, 0, 0}));
  EXPECT_EQ(group_counter_mismatches(conn(), spec.job_id), 0);
  EXPECT_EQ(job_field(conn(), spec.job_id, "status"), "queued");
  EXPECT_EQ(job_field(conn(), spec.job_id, "progress"), "0.00");
  EXPECT_EQ(job_field(conn(), spec.job_id, "submissions"), "1");
  EXPECT_EQ(job_field(conn(), spec.job_id, "started_at"), "");
  EXPECT_EQ(job_status(conn(), spec.job_id), "queued");
  EXPECT_EQ(execution_status(conn(), r.to_enqueue[5].key), ExecStatus::pending);
}

TEST_F(DbTest, StatusLookUpsOfUnknownThingsAreEmpty) {
  EXPECT_EQ(job_status(conn(), unique_id("nope")), std::nullopt);
  EXPECT_EQ(execution_status(conn(), ExecutionKey{unique_id("nope"), "r", "m", "q", 0}), std::nullopt);
  EXPECT_FALSE(cancel_job(conn(), unique_id("nope")).has_value());
}

TEST_F(DbTest, ResubmitAfterCompletionEnqueuesNothing) {
  const JobSpec spec = spec72(unique_id("reg-done"));
  const Registration first = register_job(conn(), spec, kNow);
  apply_events(conn(), events_for(first.to_enqueue, EventKind::completed));
  ASSERT_EQ(job_field(conn(), spec.job_id, "status"), "completed");
  const std::string finished = job_field(conn(), spec.job_id, "finished_at");

  const Registration again = register_job(conn(), spec, kNow);
  EXPECT_EQ(again.submission, 2);
  EXPECT_EQ(again.total, 72u);
  EXPECT_EQ(again.enqueued, 0u);
  EXPECT_EQ(again.skipped, 72u);
  EXPECT_TRUE(again.to_enqueue.empty());
  EXPECT_EQ(job_field(conn(), spec.job_id, "status"), "completed");
  EXPECT_EQ(job_field(conn(), spec.job_id, "finished_at"), finished);
  EXPECT_EQ(job_field(conn(), spec.job_id, "submissions"), "2");
  EXPECT_EQ(row_counts(conn(), spec.job_id), (Counts{0, 0, 72, 0, 0}));
}

TEST_F(DbTest, DifferentSpecUnderTheSameIdIsRefusedAndChangesNothing) {
  const JobSpec spec = spec72(unique_id("reg-diff"));
  register_job(conn(), spec, kNow);
  JobSpec other = spec;
  other.samples = 2;
  try {
    register_job(conn(), other, kNow);
    FAIL() << "a different spec was accepted";
  } catch (const SpecError& e) {
    EXPECT_EQ(e.field(), "job_id");
  }
  JobSpec reworded = spec;
  reworded.questions[0].prompt += "?";
  EXPECT_THROW(register_job(conn(), reworded, kNow), SpecError);
  EXPECT_EQ(job_field(conn(), spec.job_id, "submissions"), "1");
  EXPECT_EQ(row_counts(conn(), spec.job_id), (Counts{72, 0, 0, 0, 0}));
}

TEST_F(DbTest, SameSpecWithParamsInAnotherSpellingIsTheSameSpec) {
  JobSpec spec = spec72(unique_id("reg-jsonb"));
  register_job(conn(), spec, kNow);
  spec.params_json = R"({"max_tokens": 512, "temperature": 0.10})";  // key order, spacing, 0.1 == 0.10
  EXPECT_EQ(register_job(conn(), spec, kNow).submission, 2);
}

TEST_F(DbTest, MissingJobIdIsASpecError) {
  JobSpec spec = spec72("");
  EXPECT_THROW(register_job(conn(), spec, kNow), SpecError);
}

TEST_F(DbTest, FailedExecutionsGoBackToPendingOnResubmit) {
  const JobSpec spec = spec72(unique_id("reg-failed"));
  const Registration first = register_job(conn(), spec, kNow);
  std::vector<ResultEvent> batch = events_for(first.to_enqueue, EventKind::completed);
  std::set<std::string> failed_ids;
  for (int i : {3, 40}) {
    batch[i] = make_event(EventKind::failed, first.to_enqueue[i].key);
    failed_ids.insert(first.to_enqueue[i].key.message_id());
  }
  apply_events(conn(), batch);
  ASSERT_EQ(job_field(conn(), spec.job_id, "status"), "failed");
  ASSERT_EQ(job_counters(conn(), spec.job_id), (Counts{0, 0, 70, 2, 0}));
  EXPECT_EQ(group_counter_mismatches(conn(), spec.job_id), 0);

  const Registration again = register_job(conn(), spec, "2026-01-02T00:00:00Z");
  EXPECT_EQ(again.submission, 2);
  EXPECT_EQ(again.enqueued, 2u);
  EXPECT_EQ(again.skipped, 70u);
  std::set<std::string> enqueued_ids;
  for (const auto& m : again.to_enqueue) {
    enqueued_ids.insert(m.key.message_id());
    EXPECT_EQ(m.submission, 2);
    EXPECT_EQ(m.enqueued_at, "2026-01-02T00:00:00Z");
    EXPECT_FALSE(m.prompt.empty());
  }
  EXPECT_EQ(enqueued_ids, failed_ids);
  EXPECT_EQ(row_counts(conn(), spec.job_id), (Counts{2, 0, 70, 0, 0}));
  EXPECT_EQ(job_counters(conn(), spec.job_id), (Counts{2, 0, 70, 0, 0}));
  EXPECT_EQ(group_counter_mismatches(conn(), spec.job_id), 0);
  EXPECT_EQ(job_field(conn(), spec.job_id, "status"), "running");
  EXPECT_EQ(job_field(conn(), spec.job_id, "finished_at"), "");

  apply_events(conn(), events_for(again.to_enqueue, EventKind::completed));
  EXPECT_EQ(job_counters(conn(), spec.job_id), (Counts{0, 0, 72, 0, 0}));
  EXPECT_EQ(group_counter_mismatches(conn(), spec.job_id), 0);
  EXPECT_EQ(job_field(conn(), spec.job_id, "status"), "completed");
  EXPECT_EQ(job_field(conn(), spec.job_id, "progress"), "100.00");
}

TEST_F(DbTest, ResubmitEnqueuesPendingAndRunningToo) {
  const JobSpec spec = spec72(unique_id("reg-resume"));
  const Registration first = register_job(conn(), spec, kNow);
  std::vector<ResultEvent> batch;
  for (int i = 0; i < 50; ++i) batch.push_back(make_event(EventKind::completed, first.to_enqueue[i].key));
  for (int i = 50; i < 60; ++i) batch.push_back(make_event(EventKind::started, first.to_enqueue[i].key));
  apply_events(conn(), batch);
  const Registration again = register_job(conn(), spec, kNow);
  EXPECT_EQ(again.enqueued, 22u);  // 10 running + 12 pending
  EXPECT_EQ(again.skipped, 50u);
  EXPECT_EQ(job_counters(conn(), spec.job_id), (Counts{12, 10, 50, 0, 0}));
  EXPECT_EQ(group_counter_mismatches(conn(), spec.job_id), 0);
  EXPECT_EQ(job_field(conn(), spec.job_id, "status"), "running");
}

TEST_F(DbTest, ConcurrentSubmitsOfOneNewIdSerialise) {
  const JobSpec spec = spec72(unique_id("reg-race"));
  auto other = open_connection();
  std::vector<int> submissions(2);
  std::vector<std::string> errors(2);
  auto run = [&](pqxx::connection& c, int slot) {
    try {
      submissions[slot] = register_job(c, spec, kNow).submission;
    } catch (const std::exception& e) {
      errors[slot] = e.what();
    }
  };
  std::thread a(run, std::ref(conn()), 0);
  std::thread b(run, std::ref(*other), 1);
  a.join();
  b.join();
  EXPECT_EQ(errors, (std::vector<std::string>{"", ""}));
  EXPECT_EQ(std::set<int>(submissions.begin(), submissions.end()), (std::set<int>{1, 2}));
  EXPECT_EQ(row_counts(conn(), spec.job_id), (Counts{72, 0, 0, 0, 0}));
}

TEST_F(DbTest, CancelCancelsPendingOnlyWithExactCounters) {
  const JobSpec spec = spec72(unique_id("cancel"));
  const Registration r = register_job(conn(), spec, kNow);
  std::vector<ResultEvent> batch;
  for (int i = 0; i < 10; ++i) batch.push_back(make_event(EventKind::completed, r.to_enqueue[i].key));
  for (int i = 10; i < 15; ++i) batch.push_back(make_event(EventKind::started, r.to_enqueue[i].key));
  batch.push_back(make_event(EventKind::failed, r.to_enqueue[15].key));
  apply_events(conn(), batch);

  EXPECT_TRUE(cancel_job(conn(), spec.job_id).has_value());
  EXPECT_EQ(row_counts(conn(), spec.job_id), (Counts{0, 5, 10, 1, 56}));
  EXPECT_EQ(job_counters(conn(), spec.job_id), (Counts{0, 5, 10, 1, 56}));
  EXPECT_EQ(group_counter_mismatches(conn(), spec.job_id), 0);
  EXPECT_EQ(job_field(conn(), spec.job_id, "status"), "cancelled");
  EXPECT_NE(job_field(conn(), spec.job_id, "finished_at"), "");
  EXPECT_EQ(execution_status(conn(), r.to_enqueue[20].key), ExecStatus::cancelled);

  // Running ones still finish; a worker's `cancelled` for a dropped message is
  // a no-op; the job stays cancelled; cancelling twice changes nothing.
  std::vector<ResultEvent> late = {make_event(EventKind::completed, r.to_enqueue[10].key),
                                   make_event(EventKind::cancelled, r.to_enqueue[11].key),
                                   make_event(EventKind::cancelled, r.to_enqueue[30].key)};
  const ApplyResult ar = apply_events(conn(), late);
  EXPECT_EQ(ar.transitioned, 2u);
  EXPECT_EQ(ar.ignored, 1u);
  EXPECT_TRUE(cancel_job(conn(), spec.job_id).has_value());
  EXPECT_EQ(row_counts(conn(), spec.job_id), (Counts{0, 3, 11, 1, 57}));
  EXPECT_EQ(job_counters(conn(), spec.job_id), (Counts{0, 3, 11, 1, 57}));
  EXPECT_EQ(group_counter_mismatches(conn(), spec.job_id), 0);
  EXPECT_EQ(job_field(conn(), spec.job_id, "status"), "cancelled");
}

TEST_F(DbTest, CancelOfAFinishedJobChangesNothing) {
  const JobSpec spec = spec72(unique_id("cancel-done"));
  const Registration r = register_job(conn(), spec, kNow);
  apply_events(conn(), events_for(r.to_enqueue, EventKind::completed));
  const auto outcome = cancel_job(conn(), spec.job_id);
  ASSERT_TRUE(outcome.has_value());
  EXPECT_FALSE(outcome->cancelled_now) << "a finished job is not cancelled (the producer then broadcasts nothing)";
  EXPECT_EQ(outcome->status, "completed");
  EXPECT_EQ(job_field(conn(), spec.job_id, "status"), "completed");
  EXPECT_EQ(job_counters(conn(), spec.job_id), (Counts{0, 0, 72, 0, 0}));
  EXPECT_EQ(group_counter_mismatches(conn(), spec.job_id), 0);
}

TEST_F(DbTest, ResubmitLiftsACancel) {
  const JobSpec spec = spec72(unique_id("cancel-resume"));
  const Registration r = register_job(conn(), spec, kNow);
  apply_events(conn(), {make_event(EventKind::completed, r.to_enqueue[0].key)});
  ASSERT_TRUE(cancel_job(conn(), spec.job_id).has_value());
  const Registration again = register_job(conn(), spec, kNow);
  EXPECT_EQ(again.enqueued, 71u);
  EXPECT_EQ(row_counts(conn(), spec.job_id), (Counts{71, 0, 1, 0, 0}));
  EXPECT_EQ(job_counters(conn(), spec.job_id), (Counts{71, 0, 1, 0, 0}));
  EXPECT_EQ(group_counter_mismatches(conn(), spec.job_id), 0);
  EXPECT_EQ(job_field(conn(), spec.job_id, "status"), "running");
  EXPECT_EQ(job_field(conn(), spec.job_id, "finished_at"), "");
}

TEST_F(DbTest, JobWithoutQuestionsHasOneExecutionPerRegionAndModel) {
  const JobSpec spec = make_spec(unique_id("reg-noq"), {"r1", "r2"}, {"m1"}, {});
  const Registration r = register_job(conn(), spec, kNow);
  ASSERT_EQ(r.total, 2u);
  EXPECT_EQ(r.to_enqueue[0].key.question_id, "");
  EXPECT_EQ(execution_status(conn(), r.to_enqueue[1].key), ExecStatus::pending);
}

TEST_F(DbTest, LargeJobRegistersAndResumes) {
  // 3 x 3 x 8 x 1000 = 72,000 executions, inserted in batches. The times are
  // printed for bench/register_72k.sh, never asserted (the machine is shared).
  const JobSpec spec = make_spec(unique_id("reg-large"), {"us-east", "eu-west", "asia-pacific"}, {"m1", "m2", "m3"},
                                 {"q1", "q2", "q3", "q4", "q5", "q6", "q7", "q8"}, 1000);
  const auto t0 = std::chrono::steady_clock::now();
  const Registration r = register_job(conn(), spec, kNow);
  const auto t1 = std::chrono::steady_clock::now();
  EXPECT_EQ(r.enqueued, 72'000u);
  EXPECT_EQ(row_counts(conn(), spec.job_id), (Counts{72'000, 0, 0, 0, 0}));
  const Registration again = register_job(conn(), spec, kNow);
  const auto t2 = std::chrono::steady_clock::now();
  EXPECT_EQ(again.enqueued, 72'000u);
  EXPECT_EQ(again.skipped, 0u);
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  std::cout << "register 72,000: " << duration_cast<milliseconds>(t1 - t0).count()
            << " ms, resume: " << duration_cast<milliseconds>(t2 - t1).count() << " ms\n";
}

}  // namespace
}  // namespace beacon::db::testing

namespace beacon::db::testing {
namespace {

void expect_counters_match_rows(pqxx::connection& c, const std::string& job_id) {
  EXPECT_EQ(job_counters(c, job_id), row_counts(c, job_id)) << "job " << job_id;
  EXPECT_EQ(group_counter_mismatches(c, job_id), 0) << "per-group counters of job " << job_id;
}

ResultEvent of_submission(EventKind kind, const ExecutionKey& key, int submission) {
  ResultEvent e = make_event(kind, key);
  e.submission = submission;
  return e;
}

// Issue 8 item 2: the cancel of the first run, and its workers' late events,
// never land on the rows a re-submit reopened.
TEST_F(DbTest, StaleEventsOfACancelledSubmissionLandNowhereAfterTheResubmit) {
  const JobSpec spec = spec72(unique_id("fence"));
  const Registration r = register_job(conn(), spec, kNow);
  const auto& k = r.to_enqueue;
  apply_events(conn(), {make_event(EventKind::started, k[0].key), make_event(EventKind::started, k[1].key)});
  const auto cancelled = cancel_job(conn(), spec.job_id);
  ASSERT_TRUE(cancelled && cancelled->cancelled_now);
  EXPECT_EQ(cancelled->submission, 1);
  const Registration again = register_job(conn(), spec, kNow);  // submission 2
  EXPECT_EQ(again.enqueued, 72u);
  EXPECT_EQ(job_field(conn(), spec.job_id, "submissions"), "2");
  // The first run's workers report late: cancelled, failed and started of submission 1.
  ApplyResult a = apply_events(conn(), {of_submission(EventKind::cancelled, k[0].key, 1),
                                        of_submission(EventKind::failed, k[1].key, 1),
                                        of_submission(EventKind::cancelled, k[2].key, 1),
                                        of_submission(EventKind::started, k[3].key, 1)});
  EXPECT_EQ(a.transitioned, 1u) << "of submission 1 only a started (a run under way) or a completed may land";
  EXPECT_EQ(a.ignored, 3u);
  EXPECT_EQ(row_counts(conn(), spec.job_id), (Counts{69, 3, 0, 0, 0}));
  expect_counters_match_rows(conn(), spec.job_id);
  // A completed of the old run is paid work: it lands.
  a = apply_events(conn(), {of_submission(EventKind::completed, k[0].key, 1)});
  EXPECT_EQ(a.transitioned, 1u);
  // The new run finishes everything; the job is completed with nothing cancelled.
  std::vector<ResultEvent> rest;
  for (std::size_t i = 1; i < k.size(); ++i) rest.push_back(of_submission(EventKind::completed, k[i].key, 2));
  apply_events(conn(), rest);
  EXPECT_EQ(row_counts(conn(), spec.job_id), (Counts{0, 0, 72, 0, 0}));
  expect_counters_match_rows(conn(), spec.job_id);
  EXPECT_EQ(job_field(conn(), spec.job_id, "status"), "completed");
  EXPECT_EQ(job_field(conn(), spec.job_id, "cancelled"), "0");
}

TEST_F(DbTest, InOneBatchTheNewerSubmissionsEventWins) {
  const JobSpec spec = spec72(unique_id("fence-batch"));
  const Registration r = register_job(conn(), spec, kNow);
  const auto& key = r.to_enqueue[0].key;
  ASSERT_TRUE(cancel_job(conn(), spec.job_id).has_value());
  register_job(conn(), spec, kNow);  // submission 2
  apply_events(conn(), {of_submission(EventKind::started, key, 2), of_submission(EventKind::failed, key, 1)});
  EXPECT_EQ(row_status(conn(), key), "running") << "the stale failed neither wins the batch nor lands";
}

TEST_F(DbTest, AJobWhoseExecutionsEndedCancelledIsNotCompleted) {
  const JobSpec spec = spec72(unique_id("cancelled-not-done"));
  const Registration r = register_job(conn(), spec, kNow);
  std::vector<ResultEvent> events;
  for (std::size_t i = 0; i < r.to_enqueue.size(); ++i)
    events.push_back(make_event(i == 0 ? EventKind::cancelled : EventKind::completed, r.to_enqueue[i].key));
  apply_events(conn(), events);
  EXPECT_EQ(row_counts(conn(), spec.job_id), (Counts{0, 0, 71, 0, 1}));
  EXPECT_EQ(job_field(conn(), spec.job_id, "status"), "cancelled");
}

}  // namespace
}  // namespace beacon::db::testing

// apply_events against a real Postgres: the bookkeeping is exact under
// duplicates, reordering, late events and concurrent writers.
#include <algorithm>
#include <map>
#include <random>
#include <thread>

#include <pqxx/pqxx>

#include <beacon/core/state_machine.hpp>
#include <beacon/db/connect.hpp>
#include <beacon/db/jobs_repo.hpp>
#include <beacon/db/progress_store.hpp>
#include <beacon/db/request_reuse.hpp>

#include "test_db.hpp"

namespace beacon::db::testing {
namespace {

const std::string kNow = "2026-01-01T00:00:00.000Z";

std::vector<ExecutionKey> keys_of(const Registration& r) {
  std::vector<ExecutionKey> out;
  for (const auto& m : r.to_enqueue) out.push_back(m.key);
  return out;
}

std::vector<ResultEvent> all(EventKind kind, const std::vector<ExecutionKey>& keys) {
  std::vector<ResultEvent> out;
  for (const auto& k : keys) out.push_back(make_event(kind, k));
  return out;
}

void expect_counters_match_rows(pqxx::connection& c, const std::string& job_id) {
  EXPECT_EQ(job_counters(c, job_id), row_counts(c, job_id)) << "job " << job_id;
  EXPECT_EQ(group_counter_mismatches(c, job_id), 0) << "per-group counters of job " << job_id;
}

TEST_F(DbTest, StartedThenCompletedInSeveralBatchesCompletesTheJob) {
  const Registration r = register_job(conn(), spec72(unique_id("apply-all")), kNow);
  const auto keys = keys_of(r);
  // Keys 0..29: started and completed in separate batches; 30..71: both in one batch.
  std::vector<ResultEvent> started, completed, both;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (i < 30) {
      started.push_back(make_event(EventKind::started, keys[i]));
      completed.push_back(make_event(EventKind::completed, keys[i]));
    } else {
      both.push_back(make_event(EventKind::started, keys[i]));
      both.push_back(make_event(EventKind::completed, keys[i]));
    }
  }
  ApplyResult a = apply_events(conn(), std::vector<ResultEvent>(started.begin(), started.begin() + 10));
  EXPECT_EQ(a.transitioned, 10u);
  EXPECT_EQ(job_field(conn(), r.job_id, "status"), "running");
  EXPECT_NE(job_field(conn(), r.job_id, "started_at"), "");
  expect_counters_match_rows(conn(), r.job_id);
  apply_events(conn(), std::vector<ResultEvent>(started.begin() + 10, started.end()));
  EXPECT_EQ(job_counters(conn(), r.job_id), (Counts{42, 30, 0, 0, 0}));
  a = apply_events(conn(), completed);
  EXPECT_EQ(a.transitioned, 30u);
  EXPECT_EQ(job_counters(conn(), r.job_id), (Counts{42, 0, 30, 0, 0}));
  EXPECT_EQ(job_field(conn(), r.job_id, "progress"), "41.66");  // truncated, not rounded
  a = apply_events(conn(), both);
  EXPECT_EQ(a.transitioned, 42u);
  EXPECT_EQ(a.ignored, 42u);  // each key's `started` lost to its `completed`
  EXPECT_TRUE(a.unknown.empty());

  EXPECT_EQ(row_counts(conn(), r.job_id), (Counts{0, 0, 72, 0, 0}));
  expect_counters_match_rows(conn(), r.job_id);
  EXPECT_EQ(job_field(conn(), r.job_id, "status"), "completed");
  EXPECT_EQ(job_field(conn(), r.job_id, "progress"), "100.00");
  EXPECT_NE(job_field(conn(), r.job_id, "finished_at"), "");

  pqxx::nontransaction t(conn());
  const auto row = t.exec_params1(
      "SELECT output->>'text', classification, latency_ms, prompt_tokens, completion_tokens, worker_id, attempts, "
      "beacon_rfc3339(started_at), beacon_rfc3339(completed_at), error IS NULL, receipt->>'endpoint' "
      "FROM executions WHERE job_id = $1 AND region = $2 AND model_id = $3 AND question_id = $4 AND sample = $5",
      keys[40].job_id, keys[40].region, keys[40].model_id, keys[40].question_id, keys[40].sample);
  EXPECT_EQ(row[0].as<std::string>(), "answer to " + keys[40].question_id);
  EXPECT_EQ(row[1].as<std::string>(), "answered");
  EXPECT_DOUBLE_EQ(row[2].as<double>(), 100.0);
  EXPECT_EQ(row[3].as<long>(), 10);
  EXPECT_EQ(row[4].as<long>(), 20);
  EXPECT_EQ(row[5].as<std::string>(), "worker-" + keys[40].region + "-1");
  EXPECT_EQ(row[6].as<int>(), 1);
  EXPECT_EQ(row[7].as<std::string>(), "2026-01-01T00:00:00.000Z");
  EXPECT_EQ(row[8].as<std::string>(), "2026-01-01T00:00:01.000Z");
  EXPECT_TRUE(row[9].as<bool>());
  EXPECT_EQ(row[10].as<std::string>(), "http://sim/v1");
}

TEST_F(DbTest, DuplicatesAndLateStartedChangeNothing) {
  const Registration r = register_job(conn(), spec72(unique_id("apply-dup")), kNow);
  const auto keys = keys_of(r);
  apply_events(conn(), all(EventKind::completed, keys));
  const std::string updated = job_field(conn(), r.job_id, "updated_at");

  for (int round = 0; round < 2; ++round) {
    const ApplyResult a = apply_events(conn(), all(EventKind::completed, keys));
    EXPECT_EQ(a.transitioned, 0u);
    EXPECT_EQ(a.ignored, 72u);
  }
  ResultEvent late = make_event(EventKind::started, keys[7], 2);
  late.worker_id = "late-worker";
  const ApplyResult a = apply_events(conn(), {late});
  EXPECT_EQ(a.transitioned, 0u);
  EXPECT_EQ(a.ignored, 1u);
  EXPECT_EQ(row_status(conn(), keys[7]), "completed");
  EXPECT_EQ(job_counters(conn(), r.job_id), (Counts{0, 0, 72, 0, 0}));
  EXPECT_EQ(job_field(conn(), r.job_id, "updated_at"), updated);  // not even touched

  pqxx::nontransaction t(conn());
  EXPECT_EQ(t.exec_params1("SELECT worker_id FROM executions WHERE job_id = $1 AND region = $2 AND model_id = $3 "
                           "AND question_id = $4 AND sample = $5",
                           keys[7].job_id, keys[7].region, keys[7].model_id, keys[7].question_id, keys[7].sample)[0]
                .as<std::string>(),
            "worker-" + keys[7].region + "-1");
}

// Reuse across jobs (migration 0010): a paid answer stores its request's
// digest and the look-up finds it for another job, never for its own; a
// copied answer stores reused_from and moves jobs.reused once, however often
// the batch is replayed.
TEST_F(DbTest, DigestsAreStoredFoundByOtherJobsAndReusedRowsCountedOnce) {
  const Registration paid = register_job(conn(), spec72(unique_id("reuse-src")), kNow);
  const Registration copy = register_job(conn(), spec72(unique_id("reuse-dst")), kNow);
  const auto src = keys_of(paid);
  const auto dst = keys_of(copy);
  // 64 hex digits unique to this run (rows of earlier runs must not match).
  std::string digest;
  for (unsigned char ch : unique_id("digest")) {
    digest += "0123456789abcdef"[ch >> 4];
    digest += "0123456789abcdef"[ch & 0xf];
  }
  digest = (digest + std::string(64, '0')).substr(0, 64);
  std::vector<ResultEvent> answers = all(EventKind::completed, src);
  answers[3].request_digest = digest;
  apply_events(conn(), answers);
  EXPECT_FALSE(find_reusable_answer(conn(), digest, paid.job_id)) << "a job's own rows are not an earlier job's";
  auto found = find_reusable_answer(conn(), digest, copy.job_id);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->source, src[3]);
  EXPECT_EQ(found->output.text, "answer to " + src[3].question_id);
  EXPECT_EQ(found->output.prompt_tokens, 10);
  EXPECT_EQ(found->output.completion_tokens, 20);
  EXPECT_FALSE(find_reusable_answer(conn(), std::string(64, 'e'), copy.job_id));

  ResultEvent reused = make_event(EventKind::completed, dst[3]);
  reused.receipt.reset();
  reused.cost_usd = 0.0;
  reused.request_digest = digest;
  reused.reused_from = src[3];
  for (int round = 0; round < 3; ++round) apply_events(conn(), {reused});
  EXPECT_EQ(job_field(conn(), copy.job_id, "reused"), "1");
  EXPECT_EQ(job_field(conn(), paid.job_id, "reused"), "0");
  expect_counters_match_rows(conn(), copy.job_id);
  {
    pqxx::nontransaction t(conn());
    const auto row = t.exec_params1(
        "SELECT reused_from->>'job_id', (reused_from->>'sample')::int, encode(request_digest, 'hex'), cost_usd "
        "FROM executions WHERE (job_id, region, model_id, question_id, sample) = ($1, $2, $3, $4, $5)",
        dst[3].job_id, dst[3].region, dst[3].model_id, dst[3].question_id, dst[3].sample);
    EXPECT_EQ(row[0].as<std::string>(), paid.job_id);
    EXPECT_EQ(row[1].as<int>(), src[3].sample);
    EXPECT_EQ(row[2].as<std::string>(), digest);
    EXPECT_EQ(row[3].as<double>(), 0.0);
  }
  // The paid answer is preferred to its copy as a source.
  auto again = find_reusable_answer(conn(), digest, unique_id("reuse-third"));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->source, src[3]);
}

TEST_F(DbTest, FailedThenCompletedMovesTheCounters) {
  const Registration r = register_job(conn(), spec72(unique_id("apply-retry")), kNow);
  const auto keys = keys_of(r);
  std::vector<ResultEvent> first = all(EventKind::completed, keys);
  first[0] = make_event(EventKind::failed, keys[0]);
  apply_events(conn(), first);
  EXPECT_EQ(job_counters(conn(), r.job_id), (Counts{0, 0, 71, 1, 0}));
  EXPECT_EQ(job_field(conn(), r.job_id, "status"), "failed");

  const ApplyResult a = apply_events(conn(), {make_event(EventKind::completed, keys[0], 2)});
  EXPECT_EQ(a.transitioned, 1u);
  EXPECT_EQ(job_counters(conn(), r.job_id), (Counts{0, 0, 72, 0, 0}));
  EXPECT_EQ(job_field(conn(), r.job_id, "status"), "completed");
  expect_counters_match_rows(conn(), r.job_id);
  {
    pqxx::nontransaction t(conn());
    const auto row = t.exec_params1(
        "SELECT error IS NULL, attempts FROM executions WHERE job_id = $1 AND region = $2 AND model_id = $3 AND "
        "question_id = $4 AND sample = $5",
        keys[0].job_id, keys[0].region, keys[0].model_id, keys[0].question_id, keys[0].sample);
    EXPECT_TRUE(row[0].as<bool>());  // the old error went with the failure
    EXPECT_EQ(row[1].as<int>(), 2);
  }
  // And a late `failed` of the first attempt does not undo it.
  EXPECT_EQ(apply_events(conn(), {make_event(EventKind::failed, keys[0], 1)}).transitioned, 0u);
  EXPECT_EQ(row_status(conn(), keys[0]), "completed");
}

TEST_F(DbTest, UnknownKeysAreReportedAndTouchNothing) {
  const Registration r = register_job(conn(), spec72(unique_id("apply-unknown")), kNow);
  const auto keys = keys_of(r);
  ExecutionKey wrong_question = keys[0];
  wrong_question.question_id = "no_such_question";
  const std::string ghost_job = unique_id("ghost");
  const std::vector<ResultEvent> batch = {
      make_event(EventKind::started, wrong_question),  make_event(EventKind::completed, keys[1]),
      make_event(EventKind::completed, ExecutionKey{ghost_job, "r", "m", "q", 0}),
      make_event(EventKind::completed, wrong_question)};
  const ApplyResult a = apply_events(conn(), batch);
  EXPECT_EQ(a.unknown, (std::vector<std::size_t>{0, 2, 3}));
  EXPECT_EQ(a.transitioned, 1u);
  EXPECT_EQ(a.ignored, 0u);
  EXPECT_EQ(job_counters(conn(), r.job_id), (Counts{71, 0, 1, 0, 0}));
  EXPECT_EQ(job_status(conn(), ghost_job), std::nullopt);
  EXPECT_EQ(row_status(conn(), wrong_question), "");
}

TEST_F(DbTest, HostileTextDoesNotPoisonTheBatch) {
  const Registration r = register_job(conn(), spec72(unique_id("apply-nul")), kNow);
  const auto keys = keys_of(r);
  std::vector<ResultEvent> batch = all(EventKind::completed, keys);
  batch[3].output->text = std::string("nul\0 and \xFF bad utf-8", 20);
  batch[4].receipt->provider_receipt_json = R"({"id":"x","note":"\u0000"})";
  batch[5].receipt->latency_ms = std::numeric_limits<double>::quiet_NaN();
  batch[6].started_at = "yesterday";
  const ApplyResult a = apply_events(conn(), batch);
  EXPECT_EQ(a.transitioned, 72u);
  EXPECT_EQ(job_counters(conn(), r.job_id), (Counts{0, 0, 72, 0, 0}));
  pqxx::nontransaction t(conn());
  EXPECT_EQ(t.exec_params1("SELECT output->>'text' FROM executions WHERE job_id = $1 AND region = $2 AND "
                           "model_id = $3 AND question_id = $4 AND sample = $5",
                           keys[3].job_id, keys[3].region, keys[3].model_id, keys[3].question_id, keys[3].sample)[0]
                .as<std::string>(),
            "nul\xEF\xBF\xBD and \xEF\xBF\xBD bad utf-8");
}

// A reference model of the bookkeeping: per batch, reduce per key (highest
// event_rank, later on ties), then move only when transition_allowed.
std::map<std::string, ExecStatus> simulate(const std::vector<std::vector<ResultEvent>>& batches,
                                           const std::vector<ExecutionKey>& keys) {
  std::map<std::string, ExecStatus> state;
  for (const auto& k : keys) state[k.message_id()] = ExecStatus::pending;
  for (const auto& batch : batches) {
    std::map<std::string, const ResultEvent*> winner;
    for (const auto& e : batch) {
      auto& w = winner[e.key.message_id()];
      if (w == nullptr || event_rank(e.event) >= event_rank(w->event)) w = &e;
    }
    for (const auto& [id, e] : winner) {
      const ExecStatus to = status_after(e->event);
      if (transition_allowed(state[id], to)) state[id] = to;
    }
  }
  return state;
}

TEST_F(DbTest, RandomInterleavingsAlwaysEndWithExactCounters) {
  const EventKind kinds[] = {EventKind::started, EventKind::completed, EventKind::failed, EventKind::cancelled};
  for (unsigned seed = 1; seed <= 40; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    const JobSpec spec = make_spec(unique_id("apply-prop"), {"r1", "r2"}, {"m1", "m2"}, {"q1", "q2", "q3"});
    const Registration r = register_job(conn(), spec, kNow);
    const auto keys = keys_of(r);
    // 0..4 random events per key, some of them duplicated, all shuffled.
    std::vector<ResultEvent> events;
    for (const auto& k : keys)
      for (int n = rng() % 5; n > 0; --n) {
        events.push_back(make_event(kinds[rng() % 4], k, 1 + rng() % 3));
        if (rng() % 3 == 0) events.push_back(events.back());
      }
    std::shuffle(events.begin(), events.end(), rng);
    std::vector<std::vector<ResultEvent>> batches;
    for (std::size_t i = 0; i < events.size();) {
      const std::size_t n = std::min<std::size_t>(1 + rng() % 8, events.size() - i);
      batches.emplace_back(events.begin() + i, events.begin() + i + n);
      i += n;
    }
    // Replay a random earlier batch now and then: at-least-once delivery.
    for (std::size_t b = 0; b < batches.size(); ++b) {
      apply_events(conn(), batches[b]);
      if (rng() % 4 == 0) apply_events(conn(), batches[rng() % (b + 1)]);
      expect_counters_match_rows(conn(), r.job_id);
    }
    const auto expected = simulate(batches, keys);
    for (const auto& k : keys)
      EXPECT_EQ(row_status(conn(), k), to_string(expected.at(k.message_id()))) << k.message_id();
    const Counts c = row_counts(conn(), r.job_id);
    const std::string status = job_field(conn(), r.job_id, "status");
    if (c.pending + c.running == 0)
      EXPECT_EQ(status, c.failed == 0 ? "completed" : "failed");
    else if (c.pending == 6 * 2)
      EXPECT_TRUE(status == "queued" || status == "running") << status;
    else
      EXPECT_EQ(status, "running");
  }
}

TEST_F(DbTest, ConcurrentWritersWithOverlappingKeysStayExact) {
  const Registration r = register_job(conn(), spec72(unique_id("apply-conc")), kNow);
  const JobSpec other_spec = spec72(unique_id("apply-conc2"));
  const Registration r2 = register_job(conn(), other_spec, kNow);
  auto keys = keys_of(r);
  const auto keys2 = keys_of(r2);
  keys.insert(keys.end(), keys2.begin(), keys2.end());  // batches span two jobs

  auto writer = [&](unsigned seed, std::string& error) {
    try {
      auto c = open_connection();
      std::mt19937 rng(seed);
      std::vector<ResultEvent> events = all(EventKind::started, keys);
      for (const auto& k : keys) events.push_back(make_event(rng() % 5 == 0 ? EventKind::failed : EventKind::completed, k));
      std::shuffle(events.begin(), events.end(), rng);
      for (std::size_t i = 0; i < events.size(); i += 16)
        apply_events(*c, std::vector<ResultEvent>(events.begin() + i,
                                                  events.begin() + std::min(events.size(), i + 16)));
      // Then all completed, so both writers end in the same state.
      apply_events(*c, all(EventKind::completed, keys));
    } catch (const std::exception& e) {
      error = e.what();
    }
  };
  std::vector<std::string> errors(3);
  std::vector<std::thread> threads;
  for (unsigned i = 0; i < 3; ++i) threads.emplace_back(writer, 100 + i, std::ref(errors[i]));
  for (auto& t : threads) t.join();
  EXPECT_EQ(errors, (std::vector<std::string>{"", "", ""}));
  for (const auto* id : {&r.job_id, &r2.job_id}) {
    EXPECT_EQ(row_counts(conn(), *id), (Counts{0, 0, 72, 0, 0}));
    expect_counters_match_rows(conn(), *id);
    EXPECT_EQ(job_field(conn(), *id, "status"), "completed");
  }
}

TEST_F(DbTest, WritersCancelAndResubmitAtOnceStayExact) {
  const JobSpec spec = spec72(unique_id("apply-mixed"));
  const Registration r = register_job(conn(), spec, kNow);
  const auto keys = keys_of(r);
  std::vector<std::string> errors(3);
  auto writer = [&](unsigned seed, std::string& error) {
    try {
      auto c = open_connection();
      std::mt19937 rng(seed);
      const EventKind kinds[] = {EventKind::started, EventKind::completed, EventKind::failed};
      for (int round = 0; round < 30; ++round) {
        std::vector<ResultEvent> batch;
        for (int i = 0; i < 12; ++i) batch.push_back(make_event(kinds[rng() % 3], keys[rng() % keys.size()]));
        apply_events(*c, batch);
      }
    } catch (const std::exception& e) {
      error = e.what();
    }
  };
  auto commander = [&](std::string& error) {
    try {
      auto c = open_connection();
      for (int round = 0; round < 10; ++round) {
        cancel_job(*c, spec.job_id);
        register_job(*c, spec, kNow);
      }
    } catch (const std::exception& e) {
      error = e.what();
    }
  };
  std::thread a(writer, 7u, std::ref(errors[0]));
  std::thread b(writer, 8u, std::ref(errors[1]));
  std::thread c(commander, std::ref(errors[2]));
  a.join();
  b.join();
  c.join();
  EXPECT_EQ(errors, (std::vector<std::string>{"", "", ""}));
  expect_counters_match_rows(conn(), spec.job_id);
  EXPECT_EQ(job_field(conn(), spec.job_id, "submissions"), "11");
}

TEST_F(DbTest, LostConnectionIsDatabaseUnavailableAndTheReplayIsExact) {
  const Registration r = register_job(conn(), spec72(unique_id("apply-lost")), kNow);
  const auto keys = keys_of(r);
  auto victim = open_connection();
  apply_events(*victim, {make_event(EventKind::completed, keys[0])});
  pqxx::nontransaction(conn()).exec_params("SELECT pg_terminate_backend($1)", victim->backendpid());
  const std::vector<ResultEvent> batch = all(EventKind::completed, keys);
  EXPECT_THROW(apply_events(*victim, batch), DatabaseUnavailable);
  // The caller reconnects and redelivers; the replay is exact.
  victim = open_connection();
  const ApplyResult a = apply_events(*victim, batch);
  EXPECT_EQ(a.transitioned, 71u);
  EXPECT_EQ(a.ignored, 1u);
  EXPECT_EQ(job_counters(conn(), r.job_id), (Counts{0, 0, 72, 0, 0}));
}

TEST_F(DbTest, EmptyBatchIsANoOp) {
  const ApplyResult a = apply_events(conn(), {});
  EXPECT_EQ(a.transitioned, 0u);
  EXPECT_EQ(a.ignored, 0u);
  EXPECT_TRUE(a.unknown.empty());
}

}  // namespace
}  // namespace beacon::db::testing

// Issue 12, database half: the fleet rides through a Postgres failover. The
// test runs its own primary and synchronous streaming standby
// (scripts/pg-standby.sh) and gives every part the multi-host URL; the broker
// is the one of scripts/test.sh. Mid-job it stops the primary and promotes
// the standby, twice: a fast shutdown, then (after the old primary was
// rebuilt as the new standby) an immediate one. The writer and the workers
// must carry on against the new primary, and the job must end with exactly
// one row per key and exact counters: an event the writer acked was
// committed, and with synchronous replication a commit survives promotion.
#include <iostream>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "dashboard_process.hpp"
#include "support/faults.hpp"
#include "support/fleet.hpp"
#include "support/pg_pair.hpp"
#include "support/wait.hpp"

namespace beacon::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

double seconds_between(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

// Completed rows, or -1 while no host accepts a connection (mid-failover).
long completed_or_unknown(Fleet& f, const std::string& job) {
  try {
    return f.executions(job).completed;
  } catch (const std::exception&) {
    return -1;
  }
}

// The port of the server the URL lands on now (the read-write one).
int primary_port(const std::string& url) {
  pqxx::connection c(url);
  pqxx::read_transaction tx(c);
  return tx.exec1("SELECT inet_server_port()")[0].as<int>();
}

struct Round {
  std::string name;
  StopMode mode;
};

}  // namespace

TEST(DatabaseFailover, JobCompletesExactlyAcrossTwoPromotions) {
  PgPair pair("pgpair");
  // The fleet's children and its own reads get the multi-host URL.
  ScopedEnv db_url("BEACON_DATABASE_URL", pair.url());
  Fleet fleet("pg-failover");
  auto m = fleet.producer({"migrate"});
  ASSERT_EQ(m.exit_code, 0) << m.out << m.err;

  fleet.start_sim({"--latency-ms", "300", "--jitter-ms", "100"});
  auto region = "pgf-" + unique_suffix();
  fleet.write_endpoints({region});
  auto& writer = fleet.start_writer({"--metrics-addr", "127.0.0.1:0"});
  auto& w1 = fleet.start_worker(region, {"--concurrency", "6"});
  auto& w2 = fleet.start_worker(region, {"--concurrency", "6"});
  const int port = logged_metrics_port(writer);
  ASSERT_NE(port, 0) << writer.output();
  auto dash = start_dashboard(fleet);  // keeps one connection, like the writer
  ASSERT_EQ(Fleet::http_get("127.0.0.1", dash.port, "/readyz"), "ready\n") << dash.proc->output();

  const long total = 3 * 300;
  auto job = "pgf-" + unique_suffix();
  auto s = fleet.submit(numbered_spec({region}, {"m1", "m2", "m3"}, 300, job), job);
  ASSERT_EQ(s.exit_code, 0) << s.err;
  ASSERT_TRUE(eventually([&] { return fleet.executions(job).completed >= 40; }, 60s)) << fleet.logs_tail();

  const int first_primary = primary_port(pair.url());
  for (const Round& round : {Round{"fast shutdown", StopMode::fast}, Round{"immediate shutdown", StopMode::immediate}}) {
    SCOPED_TRACE(round.name);
    const double db_errors_before = scrape(port, "beacon_writer_db_errors_total");
    const long completed_before = fleet.executions(job).completed;
    ASSERT_LT(completed_before, total) << "the job finished before the " << round.name << ": make it longer";

    const auto stopped_at = Clock::now();
    auto r = pair.stop_primary(round.mode);
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    r = pair.promote();
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    const auto promoted_at = Clock::now();
    // Whatever the writer acks from now on was committed on the new primary.
    const double acked_at_promotion = scrape(port, "beacon_writer_events_acked_total");
    std::optional<double> acked;
    ASSERT_TRUE(eventually(
        [&] {
          acked = try_scrape(port, "beacon_writer_events_acked_total");
          return acked && *acked > acked_at_promotion;
        },
        60s, 20ms))
        << "the writer did not commit on the new primary (acked " << acked.value_or(-1) << ")\n"
        << fleet.logs_tail();
    const auto writer_back_at = Clock::now();
    long completed_now = -1;
    ASSERT_TRUE(eventually(
        [&] {
          completed_now = completed_or_unknown(fleet, job);
          return completed_now > completed_before;
        },
        60s, 20ms))
        << "no execution completed on the new primary (last " << completed_now << ")\n"
        << fleet.logs_tail();
    std::cout << "[figures] database failover (" << round.name << "): primary down to standby promoted "
              << seconds_between(stopped_at, promoted_at) << " s; writer committing again "
              << seconds_between(stopped_at, writer_back_at) << " s after the stop ("
              << seconds_between(promoted_at, writer_back_at) << " s after the promotion)\n";
    EXPECT_GT(scrape(port, "beacon_writer_db_errors_total"), db_errors_before)
        << "the writer saw the outage and retried\n" << writer.output();
    std::string ready;
    EXPECT_TRUE(eventually(
        [&] {
          ready = Fleet::http_get("127.0.0.1", dash.port, "/readyz");
          return ready == "ready\n";
        },
        30s, 100ms))
        << "the dashboard did not reconnect to the new primary (/readyz: " << ready << ")\n"
        << dash.proc->output();

    if (round.mode == StopMode::fast) {
      // The old primary comes back as the new primary's synchronous standby,
      // so the second round fails over with nothing lost either.
      const auto t0 = Clock::now();
      r = pair.rebuild();
      ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
      std::cout << "[figures] database failover: old primary rebuilt as the synchronous standby in "
                << seconds_between(t0, Clock::now()) << " s (the job running)\n";
    }
  }
  EXPECT_EQ(primary_port(pair.url()), first_primary) << "two promotions bring the primary back to the first node";

  ASSERT_TRUE(fleet.wait_finished(job, 180s)) << fleet.logs_tail();
  expect_exact(fleet, job, total, total);
  EXPECT_TRUE(writer.running()) << "the writer must ride through a failover, not exit\n" << writer.output();
  EXPECT_TRUE(w1.running() && w2.running()) << "the workers must ride through a failover\n" << fleet.logs_tail();
  const long duplicates = sim_stat(fleet, "duplicates");
  std::cout << "[figures] database failover: " << sim_stat(fleet, "requests") << " endpoint requests for " << total
            << " executions, " << duplicates << " duplicates\n";
  EXPECT_EQ(duplicates, 0) << "a database failover requeues no execution: nothing is paid twice";
  auto dead = take_dead_letters([&](const amqp::Delivery& d) { return d.body.find(job) != std::string::npos; }, 0, 20s);
  EXPECT_TRUE(dead.empty()) << "a failover is not bad input: " << dead.size() << " events dead-lettered";

  // The producer reads through the same URL after both failovers.
  auto st = fleet.producer({"status", job, "--json"});
  EXPECT_EQ(st.exit_code, 0) << st.out << st.err;
  EXPECT_NE(st.out.find("completed"), std::string::npos) << st.out;
}

}  // namespace beacon::test

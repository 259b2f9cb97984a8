#include <beacon/metrics/registry.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <thread>
#include <vector>

namespace beacon::metrics {
namespace {

TEST(Registry, RendersExpositionTextExactly) {
  Registry r;
  r.counter("beacon_messages_consumed_total", "Messages consumed.", {{"queue", "beacon.exec.us-east"}}).inc(3);
  r.counter("beacon_messages_consumed_total", "ignored: first help wins", {{"queue", "beacon.exec.eu-west"}}).inc();
  r.gauge("beacon_in_flight", "Requests in flight.").set(2.5);
  auto& h = r.histogram("beacon_request_seconds", "Request latency.", {{"region", "us-east"}}, {0.25, 1});
  h.observe(0.125);
  h.observe(0.25);  // le is inclusive
  h.observe(0.5);
  h.observe(7);

  EXPECT_EQ(r.render(),
            "# HELP beacon_in_flight Requests in flight.\n"
            "# TYPE beacon_in_flight gauge\n"
            "beacon_in_flight 2.5\n"
            "# HELP beacon_messages_consumed_total Messages consumed.\n"
            "# TYPE beacon_messages_consumed_total counter\n"
            "beacon_messages_consumed_total{queue=\"beacon.exec.eu-west\"} 1\n"
            "beacon_messages_consumed_total{queue=\"beacon.exec.us-east\"} 3\n"
            "# HELP beacon_request_seconds Request latency.\n"
            "# TYPE beacon_request_seconds histogram\n"
            "beacon_request_seconds_bucket{region=\"us-east\",le=\"0.25\"} 2\n"
            "beacon_request_seconds_bucket{region=\"us-east\",le=\"1\"} 3\n"
            "beacon_request_seconds_bucket{region=\"us-east\",le=\"+Inf\"} 4\n"
            "beacon_request_seconds_sum{region=\"us-east\"} 7.875\n"
            "beacon_request_seconds_count{region=\"us-east\"} 4\n");
}

TEST(Registry, UnlabelledHistogram) {
  Registry r;
  r.histogram("x_seconds", "X.", {}, {1}).observe(2);
  EXPECT_EQ(r.render(),
            "# HELP x_seconds X.\n"
            "# TYPE x_seconds histogram\n"
            "x_seconds_bucket{le=\"1\"} 0\n"
            "x_seconds_bucket{le=\"+Inf\"} 1\n"
            "x_seconds_sum 2\n"
            "x_seconds_count 1\n");
}

TEST(Registry, EscapesLabelValuesAndHelp) {
  Registry r;
  r.counter("c_total", "line one\nback\\slash \"quoted\"", {{"path", "a\\b\"c\"\nd"}}).inc();
  EXPECT_EQ(r.render(),
            "# HELP c_total line one\\nback\\\\slash \"quoted\"\n"
            "# TYPE c_total counter\n"
            "c_total{path=\"a\\\\b\\\"c\\\"\\nd\"} 1\n");
}

TEST(Registry, SameNameAndLabelsGiveTheSameInstrument) {
  Registry r;
  Counter& a = r.counter("c_total", "h", {{"a", "1"}, {"b", "2"}});
  Counter& b = r.counter("c_total", "h", {{"b", "2"}, {"a", "1"}});
  Counter& c = r.counter("c_total", "h", {{"a", "1"}, {"b", "3"}});
  EXPECT_EQ(&a, &b);
  EXPECT_NE(&a, &c);
  EXPECT_EQ(&r.gauge("g", "h"), &r.gauge("g", "h"));
}

TEST(Registry, RejectsBadNamesAndTypeClashes) {
  Registry r;
  EXPECT_THROW(r.counter("9bad", "h"), std::invalid_argument);
  EXPECT_THROW(r.counter("bad-name", "h"), std::invalid_argument);
  EXPECT_THROW(r.counter("ok_total", "h", {{"bad-label", "x"}}), std::invalid_argument);
  EXPECT_THROW(r.counter("ok_total", "h", {{"__reserved", "x"}}), std::invalid_argument);
  EXPECT_THROW(r.counter("ok_total", "h", {{"a", "x"}, {"a", "y"}}), std::invalid_argument);
  EXPECT_THROW(r.histogram("h_seconds", "h", {{"le", "1"}}), std::invalid_argument);
  EXPECT_THROW(r.histogram("h_seconds", "h", {}, {1, 1}), std::invalid_argument);
  r.counter("x_total", "h");
  EXPECT_THROW(r.gauge("x_total", "h"), std::logic_error);
  r.histogram("y_seconds", "h", {}, {1, 2});
  EXPECT_THROW(r.histogram("y_seconds", "h", {}, {1, 3}), std::logic_error);
  EXPECT_NO_THROW(r.histogram("y_seconds", "h", {{"k", "v"}}, {1, 2}));
}

TEST(Registry, GaugeMovesBothWays) {
  Registry r;
  Gauge& g = r.gauge("g", "h");
  g.inc();
  g.inc(4);
  g.dec(2);
  EXPECT_DOUBLE_EQ(g.value(), 3);
  g.set(-1);
  EXPECT_EQ(r.render(), "# HELP g h\n# TYPE g gauge\ng -1\n");
}

TEST(Registry, EmptyHelpHasNoTrailingSpace) {
  Registry r;
  r.counter("c_total", "").inc();
  EXPECT_EQ(r.render(), "# HELP c_total\n# TYPE c_total counter\nc_total 1\n");
}

TEST(Registry, FormatsSpecialValues) {
  EXPECT_EQ(format_value(0), "0");
  EXPECT_EQ(format_value(0.05), "0.05");
  EXPECT_EQ(format_value(120), "120");
  EXPECT_EQ(format_value(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(format_value(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(format_value(std::nan("")), "NaN");
}

TEST(Registry, DefaultLatencyBuckets) {
  const auto b = Histogram::latency_seconds_buckets();
  ASSERT_FALSE(b.empty());
  EXPECT_DOUBLE_EQ(b.front(), 0.05);
  EXPECT_DOUBLE_EQ(b.back(), 120);
}

TEST(Registry, ConcurrentIncrementsAreExact) {
  Registry r;
  Counter& c = r.counter("c_total", "h");
  Gauge& g = r.gauge("g", "h");
  Histogram& h = r.histogram("h_seconds", "h");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        c.inc();
        g.inc();
        h.observe(0.2);
        if (i % 1000 == 0) (void)r.render();  // rendering while others write is safe
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(c.value(), 40000u);
  EXPECT_DOUBLE_EQ(g.value(), 40000);
  EXPECT_EQ(h.count(), 40000u);
  EXPECT_NEAR(h.sum(), 8000, 1e-6);
}

}  // namespace
}  // namespace beacon::metrics

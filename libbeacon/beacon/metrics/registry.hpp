#pragma once
// Prometheus instruments and the registry that renders them in the text
// exposition format 0.0.4 (what /metrics serves).
//
// Thread safety: creating or looking up an instrument takes the registry's
// mutex; inc()/set()/observe() on an instrument are lock-free atomics, so hot
// paths should look an instrument up once and keep the reference. References
// stay valid for the registry's lifetime. Same name + same label set (in any
// order) returns the same instrument.
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace beacon::metrics {

// Label name/value pairs; order does not matter (they are sorted by name).
using Labels = std::vector<std::pair<std::string, std::string>>;

// Monotonic count (messages consumed, errors).
class Counter {
 public:
  void inc(std::uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

// Value that goes up and down (in-flight requests, connected 0/1).
class Gauge {
 public:
  void set(double v) { value_.store(v, std::memory_order_relaxed); }
  void inc(double d = 1) { value_.fetch_add(d, std::memory_order_relaxed); }
  void dec(double d = 1) { value_.fetch_sub(d, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Distribution over fixed upper bounds (le); +Inf is implicit.
class Histogram {
 public:
  // `bounds` strictly increasing and finite; throws std::invalid_argument otherwise.
  explicit Histogram(std::vector<double> bounds);
  void observe(double v);

  const std::vector<double>& bounds() const { return bounds_; }
  // Cumulative counts per bound, then +Inf last (size bounds()+1).
  std::vector<std::uint64_t> cumulative_counts() const;
  double sum() const { return sum_.load(std::memory_order_relaxed); }
  std::uint64_t count() const;

  // Request latency in seconds: 0.05 .. 120.
  static std::vector<double> latency_seconds_buckets();

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;  // per bucket, not cumulative; last = +Inf
  std::atomic<double> sum_{0};
};

class Registry {
 public:
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Returns the instrument for (name, labels), creating it on first use.
  // Throws std::invalid_argument for an invalid metric or label name, and
  // std::logic_error when `name` is already registered with another type
  // (or, for histograms, other bounds). `help` of the first call wins.
  Counter& counter(const std::string& name, const std::string& help, const Labels& labels = {});
  Gauge& gauge(const std::string& name, const std::string& help, const Labels& labels = {});
  Histogram& histogram(const std::string& name, const std::string& help, const Labels& labels = {},
                       std::vector<double> bounds = Histogram::latency_seconds_buckets());

  // Every family in name order, series in label order, text format 0.0.4.
  std::string render() const;

 private:
  enum class Type { counter, gauge, histogram };
  struct Family {
    Type type;
    std::string help;
    std::vector<double> bounds;  // histograms only
    // key: rendered label set `a="x",b="y"` (sorted, escaped)
    std::map<std::string, std::unique_ptr<Counter>> counters;
    std::map<std::string, std::unique_ptr<Gauge>> gauges;
    std::map<std::string, std::unique_ptr<Histogram>> histograms;
  };
  Family& family(const std::string& name, const std::string& help, Type type);

  mutable std::mutex mutex_;
  std::map<std::string, Family> families_;
};

// The process-wide registry the programs serve on /metrics.
Registry& default_registry();

// Exposition helpers (exposed for tests).
std::string escape_label_value(std::string_view v);  // \ " and newline
std::string escape_help(std::string_view v);         // \ and newline
std::string format_value(double v);                  // shortest round-trip, +Inf, -Inf, NaN

}  // namespace beacon::metrics

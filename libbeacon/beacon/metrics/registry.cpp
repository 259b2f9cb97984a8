#include <beacon/metrics/registry.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>

namespace beacon::metrics {
namespace {

bool valid_metric_name(std::string_view n) {
  if (n.empty()) return false;
  for (std::size_t i = 0; i < n.size(); ++i) {
    const char c = n[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    const bool digit = c >= '0' && c <= '9';
    if (!(alpha || (i > 0 && digit))) return false;
  }
  return true;
}

bool valid_label_name(std::string_view n) {
  if (n.empty() || n.starts_with("__")) return false;
  for (std::size_t i = 0; i < n.size(); ++i) {
    const char c = n[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    const bool digit = c >= '0' && c <= '9';
    if (!(alpha || (i > 0 && digit))) return false;
  }
  return true;
}

// Canonical key: labels sorted by name, rendered `a="x",b="y"`.
std::string label_key(const Labels& labels) {
  Labels sorted = labels;
  std::sort(sorted.begin(), sorted.end());
  std::string key;
  for (std::size_t i = 0; i < sorted.size(); ++i) {
    const auto& [name, value] = sorted[i];
    if (!valid_label_name(name)) throw std::invalid_argument("invalid metric label name: '" + name + "'");
    if (name == "le") throw std::invalid_argument("label name 'le' is reserved");
    if (i > 0 && sorted[i - 1].first == name)
      throw std::invalid_argument("duplicate metric label name: '" + name + "'");
    if (!key.empty()) key += ',';
    key += name;
    key += "=\"";
    key += escape_label_value(value);
    key += '"';
  }
  return key;
}

void series_line(std::string& out, const std::string& name, const std::string& labels,
                 const std::string& value) {
  out += name;
  if (!labels.empty()) {
    out += '{';
    out += labels;
    out += '}';
  }
  out += ' ';
  out += value;
  out += '\n';
}

template <class T>
T& find_or_add(std::map<std::string, std::unique_ptr<T>>& series, const std::string& key,
               auto&& make) {
  auto it = series.find(key);
  if (it == series.end()) it = series.emplace(key, make()).first;
  return *it->second;
}

}  // namespace

std::string escape_label_value(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
  return out;
}

std::string escape_help(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
  return out;
}

std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, res.ptr);
}

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)) {
  for (std::size_t i = 0; i < bounds_.size(); ++i) {
    if (!std::isfinite(bounds_[i])) throw std::invalid_argument("histogram bounds must be finite");
    if (i > 0 && !(bounds_[i - 1] < bounds_[i]))
      throw std::invalid_argument("histogram bounds must be strictly increasing");
  }
  counts_ = std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1);
}

void Histogram::observe(double v) {
  const auto idx = static_cast<std::size_t>(
      std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin());  // first bound >= v
  counts_[idx].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

std::vector<std::uint64_t> Histogram::cumulative_counts() const {
  std::vector<std::uint64_t> out(bounds_.size() + 1);
  std::uint64_t acc = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    acc += counts_[i].load(std::memory_order_relaxed);
    out[i] = acc;
  }
  return out;
}

std::uint64_t Histogram::count() const { return cumulative_counts().back(); }

std::vector<double> Histogram::latency_seconds_buckets() {
  return {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120};
}

Registry::Family& Registry::family(const std::string& name, const std::string& help, Type type) {
  if (!valid_metric_name(name)) throw std::invalid_argument("invalid metric name: '" + name + "'");
  auto it = families_.find(name);
  if (it == families_.end()) {
    it = families_.emplace(name, Family{type, help, {}, {}, {}, {}}).first;
  } else if (it->second.type != type) {
    throw std::logic_error("metric '" + name + "' already registered with another type");
  }
  return it->second;
}

Counter& Registry::counter(const std::string& name, const std::string& help, const Labels& labels) {
  const std::string key = label_key(labels);
  std::lock_guard lock(mutex_);
  return find_or_add(family(name, help, Type::counter).counters, key,
                     [] { return std::make_unique<Counter>(); });
}

Gauge& Registry::gauge(const std::string& name, const std::string& help, const Labels& labels) {
  const std::string key = label_key(labels);
  std::lock_guard lock(mutex_);
  return find_or_add(family(name, help, Type::gauge).gauges, key,
                     [] { return std::make_unique<Gauge>(); });
}

Histogram& Registry::histogram(const std::string& name, const std::string& help,
                               const Labels& labels, std::vector<double> bounds) {
  const std::string key = label_key(labels);
  Histogram probe(bounds);  // validates before anything is registered
  std::lock_guard lock(mutex_);
  const bool fresh = families_.find(name) == families_.end();
  Family& f = family(name, help, Type::histogram);
  if (fresh) {
    f.bounds = bounds;
  } else if (f.bounds != bounds) {
    throw std::logic_error("histogram '" + name + "' already registered with other bounds");
  }
  return find_or_add(f.histograms, key,
                     [&] { return std::make_unique<Histogram>(std::move(bounds)); });
}

std::string Registry::render() const {
  std::lock_guard lock(mutex_);
  std::string out;
  for (const auto& [name, f] : families_) {
    out += "# HELP " + name + (f.help.empty() ? std::string() : ' ' + escape_help(f.help)) + '\n';
    switch (f.type) {
      case Type::counter:
        out += "# TYPE " + name + " counter\n";
        for (const auto& [labels, c] : f.counters) series_line(out, name, labels, std::to_string(c->value()));
        break;
      case Type::gauge:
        out += "# TYPE " + name + " gauge\n";
        for (const auto& [labels, g] : f.gauges) series_line(out, name, labels, format_value(g->value()));
        break;
      case Type::histogram:
        out += "# TYPE " + name + " histogram\n";
        for (const auto& [labels, h] : f.histograms) {
          const auto counts = h->cumulative_counts();
          const std::string prefix = labels.empty() ? std::string() : labels + ',';
          for (std::size_t i = 0; i < counts.size(); ++i) {
            const std::string le = i < h->bounds().size() ? format_value(h->bounds()[i]) : "+Inf";
            series_line(out, name + "_bucket", prefix + "le=\"" + le + '"', std::to_string(counts[i]));
          }
          series_line(out, name + "_sum", labels, format_value(h->sum()));
          series_line(out, name + "_count", labels, std::to_string(counts.back()));
        }
        break;
    }
  }
  return out;
}

Registry& default_registry() {
  static Registry registry;
  return registry;
}

}  // namespace beacon::metrics

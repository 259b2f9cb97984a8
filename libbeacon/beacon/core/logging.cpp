#include <beacon/core/logging.hpp>

#include <unistd.h>

#include <ctime>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <beacon/core/cli.hpp>
#include <beacon/core/json.hpp>
// The cleaning the database path uses (pure text, no Postgres involved), so a
// string that is fine in a log line is fine in a jsonb column and back.
#include <beacon/db/pg_json.hpp>

namespace beacon {
namespace {

class JsonFormatter : public spdlog::formatter {
 public:
  explicit JsonFormatter(std::string program) : program_(std::move(program)) {}

  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    rapidjson::StringBuffer buf;
    json::Writer w(buf);
    w.StartObject();
    w.Key("ts");
    db::write_string(w, timestamp(msg.time));
    w.Key("level");
    const auto level = spdlog::level::to_string_view(msg.level);
    db::write_string(w, std::string_view(level.data(), level.size()));
    w.Key("program");
    db::write_string(w, program_);
    w.Key("pid");
    w.Int(static_cast<int>(::getpid()));
    w.Key("msg");
    db::write_string(w, std::string_view(msg.payload.data(), msg.payload.size()));
    w.EndObject();
    dest.append(buf.GetString(), buf.GetString() + buf.GetSize());
    dest.push_back('\n');
  }

  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<JsonFormatter>(program_); }

 private:
  // RFC 3339 UTC with milliseconds, like the text format.
  static std::string timestamp(spdlog::log_clock::time_point t) {
    const auto since = t.time_since_epoch();
    const std::time_t secs = std::chrono::duration_cast<std::chrono::seconds>(since).count();
    const long millis = static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(since).count() % 1000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char out[32];
    const std::size_t n = std::strftime(out, sizeof out, "%Y-%m-%dT%H:%M:%S", &tm);
    std::snprintf(out + n, sizeof out - n, ".%03ldZ", millis);
    return out;
  }

  std::string program_;
};

}  // namespace

LogFormat parse_log_format(const std::string& what, const std::string& value) {
  return require_choice(what, value, {"text", "json"}) == "json" ? LogFormat::json : LogFormat::text;
}

std::string parse_log_level(const std::string& what, const std::string& value) {
  return require_choice(what, value, {"trace", "debug", "info", "warn", "error", "critical", "off"});
}

std::unique_ptr<spdlog::formatter> make_json_formatter(const std::string& program) {
  return std::make_unique<JsonFormatter>(program);
}

void setup_logging(const std::string& program, LogFormat format, const std::string& level) {
  const std::string checked_level = parse_log_level("log level", level);
  auto logger = spdlog::stderr_color_mt(program);
  if (format == LogFormat::json) {
    logger->set_formatter(make_json_formatter(program));
  } else {
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%-5l%$ " + program + "[%P] %v", spdlog::pattern_time_type::utc);
  }
  logger->set_level(spdlog::level::from_str(checked_level));
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

}  // namespace beacon

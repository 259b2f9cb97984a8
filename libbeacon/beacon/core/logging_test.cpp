#include <beacon/core/logging.hpp>

#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include <spdlog/logger.h>
#include <spdlog/sinks/ostream_sink.h>

#include <beacon/core/errors.hpp>
#include <beacon/core/json.hpp>

namespace beacon {
namespace {

// Logs `message` through the JSON formatter and returns the line it wrote.
std::string json_line(const std::string& message) {
  std::ostringstream out;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
  spdlog::logger logger("test", sink);
  logger.set_formatter(make_json_formatter("worker"));
  logger.error("{}", message);
  logger.flush();
  return out.str();
}

TEST(JsonLog, OneValidObjectPerLineWhateverTheMessageHolds) {
  const std::string nasty = std::string("quote \" backslash \\ newline \n tab \t bell \x07 nul ") + '\0' +
                            " invalid \xC3\x28 lone \x80 overlong \xC0\xAF surrogate \xED\xA0\x80 end";
  const std::string line = json_line(nasty);
  ASSERT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1) << "a raw newline inside the object: " << line;
  const json::Document doc = json::parse(line);  // throws on invalid JSON or invalid UTF-8
  EXPECT_EQ(json::get_string(doc, "level"), "error");
  EXPECT_EQ(json::get_string(doc, "program"), "worker");
  EXPECT_TRUE(doc["pid"].IsInt());
  const std::string msg = json::get_string(doc, "msg");
  EXPECT_NE(msg.find("quote \" backslash \\ newline \n tab \t bell \x07 nul \xEF\xBF\xBD"), std::string::npos) << msg;
  EXPECT_NE(msg.find("invalid \xEF\xBF\xBD( lone \xEF\xBF\xBD"), std::string::npos) << msg;
  EXPECT_EQ(msg.find('\0'), std::string::npos);
  const std::string ts = json::get_string(doc, "ts");
  ASSERT_EQ(ts.size(), 24u) << ts;  // 2026-12-01T21:34:00.123Z
  EXPECT_EQ(ts[10], 'T');
  EXPECT_EQ(ts.back(), 'Z');
}

TEST(JsonLog, ValidUtf8IsKeptAsIs) {
  const json::Document doc = json::parse(json_line("Beijing 北京 ✅"));
  EXPECT_EQ(json::get_string(doc, "msg"), "Beijing 北京 ✅");
}

TEST(LogOptions, UnknownFormatOrLevelIsBadInputNamingTheFlag) {
  EXPECT_EQ(parse_log_format("--log-format", "json"), LogFormat::json);
  EXPECT_EQ(parse_log_format("--log-format", "text"), LogFormat::text);
  try {
    parse_log_format("--log-format", "xml");
    FAIL();
  } catch (const BadInput& e) {
    EXPECT_EQ(std::string(e.what()), "--log-format must be text or json, not \"xml\"");
  }
  EXPECT_EQ(parse_log_level("--log-level", "warn"), "warn");
  EXPECT_THROW(parse_log_level("--log-level", "loud"), BadInput);
}

}  // namespace
}  // namespace beacon

#pragma once
// Logging set-up for the programs: spdlog on stderr, human-readable by
// default, one JSON object per line with --log-format json.
#include <memory>
#include <string>
#include <string_view>

#include <spdlog/formatter.h>

namespace beacon {

enum class LogFormat { text, json };

// "text" or "json"; anything else is BadInput naming `what` (the flag).
LogFormat parse_log_format(const std::string& what, const std::string& value);
// trace, debug, info, warn, error, critical or off; else BadInput naming `what`.
// (spdlog itself turns an unknown level into "off": a silent program.)
std::string parse_log_level(const std::string& what, const std::string& value);

// Configures the default spdlog logger on stderr; `program` names the part.
// Throws BadInput for an unknown level.
void setup_logging(const std::string& program, LogFormat format, const std::string& level = "info");

// The --log-format json formatter: each line one JSON object
// {"ts","level","program","pid","msg"} written by RapidJSON, every string
// cleaned like text bound for Postgres (db::clean_text: invalid UTF-8 and NUL
// become U+FFFD), so a model's bytes in a message never break the line.
std::unique_ptr<spdlog::formatter> make_json_formatter(const std::string& program);

}  // namespace beacon

#pragma once
// Logging set-up for the programs: spdlog, human-readable by default,
// one JSON object per line with --log-format json.
#include <string>

namespace beacon {

enum class LogFormat { text, json };
// Configures the default spdlog logger on stderr; `program` names the part.
void setup_logging(const std::string& program, LogFormat format, const std::string& level = "info");

}  // namespace beacon

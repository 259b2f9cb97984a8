#include <beacon/core/error_kind.hpp>

#include <array>
#include <ostream>

namespace beacon {
namespace {

constexpr std::array kAll = {
    ErrorKind::connect, ErrorKind::timeout,    ErrorKind::tls,         ErrorKind::reset,
    ErrorKind::oversized, ErrorKind::protocol, ErrorKind::redirect_refused, ErrorKind::aborted,
    ErrorKind::http,    ErrorKind::provider,   ErrorKind::bad_message, ErrorKind::no_endpoint,
    ErrorKind::cancelled, ErrorKind::internal, ErrorKind::unknown,
};

}  // namespace

std::string_view to_string(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::connect: return "connect";
    case ErrorKind::timeout: return "timeout";
    case ErrorKind::tls: return "tls";
    case ErrorKind::reset: return "reset";
    case ErrorKind::oversized: return "oversized";
    case ErrorKind::protocol: return "protocol";
    case ErrorKind::redirect_refused: return "redirect_refused";
    case ErrorKind::aborted: return "aborted";
    case ErrorKind::http: return "http";
    case ErrorKind::provider: return "provider";
    case ErrorKind::bad_message: return "bad_message";
    case ErrorKind::no_endpoint: return "no_endpoint";
    case ErrorKind::cancelled: return "cancelled";
    case ErrorKind::internal: return "internal";
    case ErrorKind::unknown: return "unknown";
  }
  return "unknown";
}

std::optional<ErrorKind> parse_error_kind(std::string_view text) {
  for (ErrorKind kind : kAll)
    if (to_string(kind) == text) return kind;
  return std::nullopt;
}

std::ostream& operator<<(std::ostream& out, ErrorKind kind) { return out << to_string(kind); }

}  // namespace beacon

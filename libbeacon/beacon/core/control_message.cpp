#include <beacon/core/control_message.hpp>

#include <beacon/core/json.hpp>

namespace beacon {

std::string encode(const CancelNotice& n) {
  rapidjson::StringBuffer buf;
  json::Writer w(buf);
  w.StartObject();
  w.Key("v"); w.Int(kWireVersion);
  w.Key("type"); w.String("cancel");
  w.Key("job_id"); w.String(n.job_id.data(), static_cast<rapidjson::SizeType>(n.job_id.size()));
  w.Key("submission"); w.Int(n.submission);
  const auto reason = to_string(n.reason);
  w.Key("reason"); w.String(reason.data(), static_cast<rapidjson::SizeType>(reason.size()));
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

CancelNotice decode_control(std::string_view body) {
  if (body.size() > kMaxMessageBytes) throw BadInput("control message exceeds the size limit");
  auto doc = json::parse(body);
  json::require_object(doc, "control message");
  if (auto v = json::get_optional_int(doc, "v"); v && *v != kWireVersion)
    throw BadInput("unsupported wire version v=" + std::to_string(*v));
  if (json::get_string(doc, "type") != "cancel") throw BadInput("unknown control message type");
  CancelNotice n;
  n.job_id = json::get_string(doc, "job_id");
  if (n.job_id.empty()) throw BadInput("field 'job_id' must not be empty");
  auto submission = json::get_optional_int(doc, "submission").value_or(1);
  if (submission < 1 || submission > 1000000) throw BadInput("field 'submission' out of range");
  n.submission = static_cast<int>(submission);
  if (auto reason = json::get_optional_string(doc, "reason")) {
    const auto parsed = parse_cancel_reason(*reason);
    if (!parsed) throw BadInput("field 'reason': unknown cancel reason '" + *reason + "'");
    n.reason = *parsed;
  }
  return n;
}

bool cancels(const CancelNotice& notice, const ExecutionMessage& message) {
  return message.key.job_id == notice.job_id && message.submission <= notice.submission;
}

}  // namespace beacon

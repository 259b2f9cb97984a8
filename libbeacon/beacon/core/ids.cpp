#include <beacon/core/ids.hpp>

namespace beacon {

bool is_valid_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '_' || c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string ExecutionKey::message_id() const {
  return job_id + "/" + region + "/" + model_id + "/" + question_id + "/" + std::to_string(sample);
}

std::string ExecutionKey::log_context() const {
  return "job=" + job_id + " region=" + region + " model=" + model_id + " question=" + question_id +
         " sample=" + std::to_string(sample);
}

}  // namespace beacon

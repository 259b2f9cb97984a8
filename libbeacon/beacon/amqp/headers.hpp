#pragma once
// Message headers as beacon sees them: string keys, string values (see
// field_table.hpp for how other AMQP field types are turned into text).
#include <map>
#include <string>

namespace beacon::amqp {

using Headers = std::map<std::string, std::string>;

}  // namespace beacon::amqp

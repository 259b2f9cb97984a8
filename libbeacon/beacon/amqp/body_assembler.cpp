#include <beacon/amqp/body_assembler.hpp>

#include <beacon/amqp/errors.hpp>

#include <algorithm>

namespace beacon::amqp {

BodyAssembler::BodyAssembler(std::uint64_t declared_size, std::size_t max_body)
    : declared_(declared_size), max_(max_body) {
  // Reserving what will be kept (never more than the bound) saves regrowth
  // for large bodies without trusting the declared size.
  body_.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(declared_, max_)));
}

void BodyAssembler::append(std::string_view fragment) {
  if (fragment.size() > declared_ - received_) {
    throw AmqpError("protocol error: body frames exceed the declared size of " +
                    std::to_string(declared_) + " bytes");
  }
  received_ += fragment.size();
  if (body_.size() < max_) {
    body_.append(fragment.substr(0, max_ - body_.size()));
  }
}

}  // namespace beacon::amqp

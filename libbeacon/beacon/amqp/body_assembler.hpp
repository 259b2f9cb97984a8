#pragma once
// Collects the body frames of one message (the content that follows a
// basic.deliver or basic.return) while keeping at most `max_body` bytes.
//
// Why not amqp_read_message: it mallocs the full declared body size up front
// and blocks until the last frame, so one huge message could exhaust memory
// and stall the pump. Here every frame is copied (up to the bound) and its
// buffer handed back to rabbitmq-c at once; the rest is read off the socket
// and dropped, and the message is flagged oversized so the caller can
// dead-letter it.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace beacon::amqp {

class BodyAssembler {
 public:
  BodyAssembler(std::uint64_t declared_size, std::size_t max_body);

  // Appends one body frame. Throws AmqpError when the frames add up to more
  // than the header declared (a protocol violation: the stream is corrupt).
  void append(std::string_view fragment);
  bool complete() const { return received_ == declared_; }
  // The body was larger than max_body: body() holds its first max_body bytes.
  bool oversized() const { return declared_ > max_; }
  std::uint64_t declared_size() const { return declared_; }
  std::string take_body() { return std::move(body_); }

 private:
  std::uint64_t declared_;
  std::size_t max_;
  std::uint64_t received_ = 0;
  std::string body_;
};

}  // namespace beacon::amqp

#pragma once
// The typed errors of beacon::amqp (after SimpleAmqpClient): a caller picks
// its reaction from the type, never from parsing a message.
//
//   AmqpError            anything this layer throws
//   ├─ ConnectionLost    socket error, heartbeat timeout, connection.close from
//   │                    the broker, a failed connect: reconnect (with backoff)
//   ├─ ChannelClosed     the broker closed a channel (reply code + text, e.g.
//   │                    404 NOT_FOUND, 406 PRECONDITION_FAILED)
//   ├─ ConsumerCancelled the broker cancelled one of our consumers (queue deleted)
//   └─ Timeout           a deadline passed (e.g. waiting for confirms)
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>

namespace beacon::amqp {

class AmqpError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The connection is gone; every unconfirmed publish is of unknown fate and
// every unacked delivery will be redelivered. Call Client::connect() again.
class ConnectionLost : public AmqpError {
 public:
  using AmqpError::AmqpError;
};

// The broker closed `channel` with an AMQP reply code (404, 406, ...).
class ChannelClosed : public AmqpError {
 public:
  ChannelClosed(std::uint16_t channel, std::uint16_t reply_code, std::string reply_text)
      : AmqpError("channel " + std::to_string(channel) + " closed by broker: " +
                  std::to_string(reply_code) + " " + reply_text),
        channel_(channel),
        reply_code_(reply_code),
        reply_text_(std::move(reply_text)) {}
  std::uint16_t channel() const { return channel_; }
  std::uint16_t reply_code() const { return reply_code_; }
  const std::string& reply_text() const { return reply_text_; }

 private:
  std::uint16_t channel_;
  std::uint16_t reply_code_;
  std::string reply_text_;
};

// The broker cancelled a consumer (its queue was deleted or became
// unavailable). The connection is still usable; consume() again after the
// queue is declared again.
class ConsumerCancelled : public AmqpError {
 public:
  explicit ConsumerCancelled(std::string consumer_tag)
      : AmqpError("consumer " + consumer_tag + " cancelled by broker"),
        consumer_tag_(std::move(consumer_tag)) {}
  const std::string& consumer_tag() const { return consumer_tag_; }

 private:
  std::string consumer_tag_;
};

class Timeout : public AmqpError {
 public:
  using AmqpError::AmqpError;
};

// AMQP reply codes callers compare against.
inline constexpr std::uint16_t kReplyNotFound = 404;
inline constexpr std::uint16_t kReplyPreconditionFailed = 406;

}  // namespace beacon::amqp

#pragma once
// Requeues of beacon's own doing (SPEC decisions, D2). RabbitMQ quorum queues
// count every return of a message towards x-delivery-limit, so a reject with
// requeue, a drain or a lost connection brings a valid message closer to
// beacon.dead. Instead beacon publishes a fresh copy (delivery count 0) to the
// tail of the source queue, in confirm mode, and acks the original only after
// the copy's confirm. The broker's limit stays the backstop for poison that
// kills a part before it can judge the message.
#include <string>

#include <beacon/amqp/client.hpp>

namespace beacon::amqp {

inline constexpr std::string_view kDeliveryCountHeader = "x-delivery-count";
inline constexpr std::string_view kRequeuesHeader = "x-beacon-requeues";

// The publish that puts `d` back at the tail of `queue` with a delivery count of 0.
struct FreshCopy {
  std::string exchange, routing_key;
  PublishProps props;
};
FreshCopy fresh_copy(const Delivery& d, const std::string& queue);

// A well-formed delivery that came back this often (lost connections,
// restarts) is refreshed before it is processed: count >= max(1, limit - 2).
// Never with no limit (delivery_limit <= 0).
bool needs_refresh(const Delivery& d, int delivery_limit);

}  // namespace beacon::amqp

#pragma once
// One RabbitMQ connection, driven by the one thread that owns it.
//
// Threading: a Client is NOT thread-safe. rabbitmq-c 0.11 does I/O (and sends
// heartbeats) only inside its own calls, so the owner thread consumes,
// publishes, acks, waits for confirms and calls poll() often enough — well
// within the heartbeat interval — to keep the connection alive. Other threads
// hand work to the owner through a queue (STYLE.md, lesson 1).
//
// Channels: 1 consumes (manual acks), 2 publishes in confirm mode, 3 carries
// topology declares so that a refused declare (e.g. 406 on mismatched
// arguments) never closes the consumer or the publisher.
//
// Publishing guarantee: a publish is confirmed only when the broker acked
// it. A nack is a failed confirm; a returned message (mandatory and
// unroutable) is a failed confirm with reason "returned: NO_ROUTE", even
// though the broker acks it after returning it. Nothing is "sent" until
// take_confirms()/wait_for_confirms() says ok.
//
// Consuming guarantee: at least once. A delivery stays unacked until ack();
// if the connection goes, the broker redelivers it (redelivered = true).
//
// Failure: every call throws ConnectionLost when the connection is gone
// (socket error, missed heartbeats, connection.close from the broker). The
// fate of every unconfirmed publish is then unknown (publish again; beacon's
// consumers are idempotent), and delivery tags of that connection are void:
// acks for them must be dropped — compare Delivery::generation with
// generation(). connect() may then be called again on the same object.
// ChannelClosed thrown by a consuming or publishing call (consume, poll,
// wait_for_confirms, ...) ends the session the same way: connected() is
// false afterwards. Thrown by a topology call, it leaves the client usable.
//
// Deadlines and flow control: every write to the broker has one.
// rabbitmq-c 0.11 writes with an infinite deadline, so a SendWatchdog
// (send_watchdog.hpp) shuts the socket down when a publish, ack, reject,
// heartbeat (inside poll) or synchronous method is still not written after
// send_timeout (rpc_timeout + send_timeout for synchronous methods): the
// call throws ConnectionLost instead of hanging. Under a broker resource
// alarm the broker sends connection.blocked and then reads nothing from
// this connection: blocked() / blocked_for() say so (and the reason), a
// synchronous method throws Timeout at once (it could only wait for
// rpc_timeout; the connection stays as it was), and close() skips the graceful handshake. Publishes
// are still accepted, into the socket buffers, as far as send_timeout lets
// them; callers should stop publishing while blocked().
//
// Batch publishers: call poll(0ms) every few hundred publishes (or publish in
// batches with wait_for_confirms) so confirms are read as they come rather
// than piling up in the socket.
#include <beacon/amqp/body_assembler.hpp>
#include <beacon/amqp/confirm_tracker.hpp>
#include <beacon/amqp/headers.hpp>
#include <beacon/amqp/send_watchdog.hpp>
#include <beacon/amqp/url.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct amqp_connection_state_t_;  // rabbitmq-c's connection, kept out of this header's API
struct amqp_socket_t_;

namespace beacon::amqp {

// SPEC.md's default broker: the local one, vhost "/".
inline constexpr const char* kDefaultAmqpUrl = "amqp://guest:guest@localhost:5672";

struct ClientOptions {
  // One node or a comma-separated list of nodes of one cluster (url.hpp).
  std::string url = kDefaultAmqpUrl;
  std::string connection_name;  // shown by `rabbitmqctl list_connections client_properties`
  int heartbeat_s = 30;         // 0 disables heartbeats (then a dead peer is only seen by TCP)
  std::chrono::milliseconds connect_timeout{10000};  // TCP connect, and again the login handshake
  std::chrono::milliseconds rpc_timeout{30000};      // each synchronous method (declare, consume...)
  // Each write (publish, ack, reject, heartbeat): a write still stuck after
  // this (broker blocked or silent, socket buffers full) drops the connection.
  std::chrono::milliseconds send_timeout{30000};
  // A delivered body larger than this is still read off the socket, but only
  // its first max_body_bytes are kept and the delivery is flagged oversized.
  std::size_t max_body_bytes = 16 * 1024 * 1024;
  NodeOrder node_order = NodeOrder::random_start;  // which node of the list first
  TlsFiles tls{};                                  // used by amqps:// nodes only
};

// BEACON_AMQP_HEARTBEAT_S: the heartbeat the long-running parts ask for, in
// seconds (0 disables; rabbitmq-c 0.11 then never notices a silent peer).
// Returns `fallback` when unset or empty; throws std::invalid_argument naming
// the variable for anything but an integer in [0, 3600].
int heartbeat_s_from_env(int fallback = 30);

// BEACON_AMQP_URL, or kDefaultAmqpUrl when unset or empty. It may carry a
// password: log only AmqpUrl::redacted().
std::string amqp_url_from_env();

// BEACON_AMQP_CA_FILE, BEACON_AMQP_CERT_FILE, BEACON_AMQP_KEY_FILE. Throws
// std::invalid_argument naming the variable when a named file cannot be read,
// or when only one of CERT and KEY is set.
TlsFiles tls_files_from_env();

// BEACON_AMQP_NODE_ORDER: "random" (default when unset or empty) or "listed".
// Throws std::invalid_argument naming the variable for anything else.
NodeOrder node_order_from_env();

struct Delivery {
  std::uint64_t generation = 0;  // Client::generation() of the connection it came on
  std::uint64_t tag = 0;         // delivery tag, for ack()/reject() on that connection only
  std::string body;
  std::uint64_t body_size = 0;   // size the broker declared; > body.size() when oversized
  bool oversized = false;        // body truncated to max_body_bytes: dead-letter it
  bool redelivered = false;
  std::string exchange;
  std::string routing_key;
  std::string consumer_tag;
  std::string message_id;
  std::string content_type;
  Headers headers;  // string-valued view (see field_table.hpp); x-death and other tables are skipped
};

struct PublishProps {
  std::string message_id;
  Headers headers;
  bool persistent = true;
  bool mandatory = true;  // unroutable messages come back as failed confirms
  std::string content_type = "application/json";
};

struct QueueArgs {
  bool durable = true;
  bool exclusive = false;
  bool auto_delete = false;
  std::string type;                  // x-queue-type: "quorum", "classic", or "" (broker default)
  std::string dead_letter_exchange;  // x-dead-letter-exchange; "" = none
  int delivery_limit = 0;            // x-delivery-limit, sent for quorum queues only; 0 = unset
  int quorum_group_size = 0;         // x-quorum-initial-group-size, quorum queues only; 0 = unset
  std::int64_t expires_ms = 0;       // x-expires: deleted after this long unused (no consumer); 0 = never
};

// Header the client stamps on every publish with its confirm sequence number,
// so a basic.return (which carries no sequence number) is matched to its
// publish exactly. Stripped from deliveries.
inline constexpr std::string_view kPublishSeqHeader = "x-beacon-publish-seq";

class Client {
 public:
  // Parses the URL at once (std::invalid_argument when malformed); connects
  // only in connect().
  explicit Client(ClientOptions options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // TCP + login + channels 1 and 2 (confirm.select on 2). Drops any previous
  // connection first, so it is also the reconnect. Each success increments
  // generation(). A new session has no consumers and no prefetch: set them
  // again. With several nodes, tries each once, starting at the node after
  // the one used last (the first call: per options.node_order), and stays on
  // the first that answers. Throws ConnectionLost (unreachable, refused
  // login, ...) when none does; with several nodes the message lists each.
  void connect();
  // True from a successful connect() until close() or the first failure.
  bool connected() const { return connected_; }
  std::uint64_t generation() const { return generation_; }
  // Graceful connection.close (bounded wait), then frees everything. Unacked
  // deliveries go back to their queues.
  void close() noexcept;
  // The broker sent connection.blocked (resource alarm) and no unblocked
  // since: it reads nothing from this connection, so publishes stall
  // unconfirmed. Still answered after a ConnectionLost (was the connection
  // blocked when it was lost?); reset by connect().
  bool blocked() const { return blocked_since_.has_value(); }
  // How long it has been blocked; nullopt when it is not.
  std::optional<std::chrono::steady_clock::duration> blocked_for() const;
  // The broker's reason ("low on memory", "low on disk space"); empty when not blocked.
  const std::string& blocked_reason() const { return blocked_reason_; }
  // The node connected to (or tried last) for logs: amqp://user:***@host:port/vhost.
  std::string redacted_url() const { return node().redacted(); }
  // Its index in the URL list (0-based).
  std::size_t node_index() const { return node_; }

  // Topology, on channel 3. Declares are idempotent; a declare that
  // conflicts with what exists throws ChannelClosed (406) and leaves the
  // client usable.
  void declare_exchange(const std::string& name, const std::string& type, bool durable = true);
  // Returns the queue's name (the server's choice when `name` is empty).
  std::string declare_queue(const std::string& name, const QueueArgs& args);
  void bind_queue(const std::string& queue, const std::string& exchange,
                  const std::string& routing_key);
  // An exclusive, auto-delete, server-named queue bound to `exchange` (for
  // fanout control messages); it dies with the connection.
  std::string declare_temp_queue_bound_to(const std::string& exchange);
  void delete_queue(const std::string& name);
  void delete_exchange(const std::string& name);
  // Ready messages in `name` (passive declare); ChannelClosed 404 if absent.
  std::uint32_t queue_message_count(const std::string& name);

  // Consuming, on channel 1, with manual acks.
  // Per-consumer prefetch; applies to consumers started after the call.
  void set_prefetch(std::uint16_t count);
  std::string consume(const std::string& queue);  // returns the consumer tag
  // basic.cancel: no new deliveries for this consumer; unacked ones stay
  // unacked (ack or reject them as usual) and ones already read stay queued
  // for take_delivery(). Sent nowait, always: it never waits for a reply
  // (none comes under a resource alarm), so deliveries the broker sent
  // before it read the cancel may still arrive.
  void cancel(const std::string& consumer_tag);
  void ack(std::uint64_t tag, bool multiple = false);
  void reject(std::uint64_t tag, bool requeue);

  // Publishing, on channel 2 with confirms. Returns the sequence number its
  // Confirm will carry. The body is copied onto the socket before returning.
  std::uint64_t publish(const std::string& exchange, const std::string& routing_key,
                        std::string_view body, const PublishProps& props = {});
  // Published and not yet confirmed. After ConnectionLost: the ones of
  // unknown fate, until the next connect().
  std::size_t unconfirmed() const { return confirms_.unconfirmed(); }

  // The pump: waits up to `timeout` for a frame, then handles every frame
  // already available, and returns. Services heartbeats, records confirms
  // and deliveries. Call it at least every heartbeat_s / 2.
  void poll(std::chrono::milliseconds timeout);
  // Deliveries read by poll(), oldest first. Their number is bounded by the
  // prefetch count.
  std::optional<Delivery> take_delivery();
  std::size_t ready_deliveries() const { return deliveries_.size(); }
  // Confirms resolved since the last call (connect() discards untaken ones).
  std::vector<Confirm> take_confirms();

  // For batch publishers: pumps until every outstanding publish is resolved
  // and returns the confirms resolved since the last take (failed ones have
  // ok = false). Throws Timeout if some are still unconfirmed at `deadline`;
  // the ones resolved so far then stay available from take_confirms().
  // Deliveries that arrive meanwhile are kept for take_delivery().
  // On ConnectionLost, too, the confirms resolved before the loss stay there.
  std::vector<Confirm> wait_for_confirms(std::chrono::steady_clock::time_point deadline);

 private:
  // Content (header + body frames) that follows a basic.deliver or
  // basic.return and is still being read.
  struct Incoming {
    bool is_return = false;
    std::string return_reason;  // "returned: NO_ROUTE"
    Delivery message;
    std::optional<BodyAssembler> body;  // set by the content header frame
  };

  const AmqpUrl& node() const { return nodes_[node_]; }
  // One attempt at nodes_[node_]; throws ConnectionLost.
  void connect_node();
  // An amqps:// socket on conn_ that verifies the peer and its host name.
  amqp_socket_t_* tls_socket();
  // Why a TLS open failed, in words a user can act on ("" when unknown).
  std::string tls_hint(int status) const;
  void require_connected(const char* what) const;
  // Synchronous methods: Timeout at once while blocked (nothing is sent).
  void require_unblocked(const char* what) const;
  // Runs `call` (a rabbitmq-c call that may write) under the watchdog; when
  // the deadline passed, the connection is dropped: ConnectionLost.
  template <typename F>
  auto bounded(const char* what, std::chrono::milliseconds limit, F&& call);
  std::string blocked_text() const;
  // Frees the connection without talking to the broker and forgets the
  // session (deliveries, partial content). Confirms stay readable.
  void drop() noexcept;
  [[noreturn]] void lost(const std::string& what);
  [[noreturn]] void lost(const std::string& what, int status);
  void check_status(int status, const char* what);
  // Turns an RPC reply into success or the matching typed error.
  void check_reply(std::uint16_t channel, const char* what);
  [[noreturn]] void channel_closed(std::uint16_t channel, std::uint16_t code, std::string text);
  [[noreturn]] void connection_closed(const char* what, std::uint16_t code, std::string text);
  void open_channel(std::uint16_t channel);
  void ensure_topology_channel();
  void release(std::uint16_t channel) noexcept;

  void handle_method(std::uint16_t channel, std::uint32_t id, void* decoded);
  void handle_header(std::uint16_t channel, std::uint64_t body_size, const void* properties);
  void handle_body(std::uint16_t channel, std::string_view fragment);
  // The content slot of `channel`, or nullptr for channels without content.
  std::optional<Incoming>* incoming(std::uint16_t channel);
  // Same, but a channel without content is a protocol error (ConnectionLost).
  std::optional<Incoming>& content_slot(std::uint16_t channel, const char* what);
  void finish(std::uint16_t channel);

  ClientOptions options_;
  std::vector<AmqpUrl> nodes_;  // never empty
  std::size_t node_ = 0;         // the node connected to, or tried last
  bool tried_ = false;           // connect() was called before: start after node_
  amqp_connection_state_t_* conn_ = nullptr;
  bool connected_ = false;
  std::optional<std::chrono::steady_clock::time_point> blocked_since_;
  std::string blocked_reason_;
  SendWatchdog watchdog_;
  bool topology_channel_open_ = false;
  std::uint64_t generation_ = 0;
  ConfirmTracker confirms_;
  std::deque<Delivery> deliveries_;
  std::optional<Incoming> incoming_consume_;
  std::optional<Incoming> incoming_publish_;
};

}  // namespace beacon::amqp

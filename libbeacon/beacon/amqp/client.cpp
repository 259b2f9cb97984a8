#include <beacon/amqp/client.hpp>

#include <beacon/amqp/errors.hpp>
#include <beacon/amqp/field_table.hpp>

#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_ssl_socket.h>
#include <amqp_tcp_socket.h>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>
#include <sys/time.h>

#include <algorithm>
#include <cstdio>
#include <charconv>
#include <cstdlib>
#include <random>
#include <stdexcept>
#include <utility>

namespace beacon::amqp {
namespace {

constexpr std::uint16_t kConsumeChannel = 1;
constexpr std::uint16_t kPublishChannel = 2;
constexpr std::uint16_t kTopologyChannel = 3;
// A busy stream must not keep poll() from returning to its caller forever.
constexpr int kMaxFramesPerPoll = 1024;
// close() should not hang a shutting-down program on a silent broker.
constexpr timeval kCloseTimeout{2, 0};

amqp_bytes_t bytes(std::string_view s) {
  amqp_bytes_t b;
  b.len = s.size();
  b.bytes = const_cast<char*>(s.data());  // rabbitmq-c only reads it
  return b;
}

std::string text(amqp_bytes_t b) {
  return b.len == 0 ? std::string() : std::string(static_cast<const char*>(b.bytes), b.len);
}

timeval to_timeval(std::chrono::microseconds d) {
  if (d.count() < 0) d = std::chrono::microseconds(0);
  timeval tv;
  tv.tv_sec = static_cast<decltype(tv.tv_sec)>(d.count() / 1000000);
  tv.tv_usec = static_cast<decltype(tv.tv_usec)>(d.count() % 1000000);
  return tv;
}

amqp_table_entry_t bool_entry(const char* key) {
  amqp_table_entry_t e{};
  e.key = amqp_cstring_bytes(key);
  e.value.kind = AMQP_FIELD_KIND_BOOLEAN;
  e.value.value.boolean = 1;
  return e;
}

amqp_table_entry_t string_entry(const char* key, const std::string& value) {
  amqp_table_entry_t e{};
  e.key = amqp_cstring_bytes(key);
  e.value.kind = AMQP_FIELD_KIND_UTF8;
  e.value.value.bytes = bytes(value);
  return e;
}

}  // namespace

int heartbeat_s_from_env(int fallback) {
  const char* raw = std::getenv("BEACON_AMQP_HEARTBEAT_S");
  if (raw == nullptr || *raw == '\0') return fallback;
  const std::string_view value = raw;
  int parsed = 0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), parsed);
  if (ec != std::errc() || end != value.data() + value.size() || parsed < 0 || parsed > 3600) {
    throw std::invalid_argument("BEACON_AMQP_HEARTBEAT_S must be an integer from 0 to 3600 (seconds), not \"" +
                                std::string(value) + "\"");
  }
  return parsed;
}

std::string amqp_url_from_env() {
  const char* raw = std::getenv("BEACON_AMQP_URL");
  return raw != nullptr && *raw != '\0' ? std::string(raw) : std::string(kDefaultAmqpUrl);
}

NodeOrder node_order_from_env() {
  const char* raw = std::getenv("BEACON_AMQP_NODE_ORDER");
  if (raw == nullptr || *raw == '\0' || std::string_view(raw) == "random") return NodeOrder::random_start;
  if (std::string_view(raw) == "listed") return NodeOrder::listed;
  throw std::invalid_argument("BEACON_AMQP_NODE_ORDER must be \"random\" or \"listed\", not \"" + std::string(raw) +
                              "\"");
}

TlsFiles tls_files_from_env() {
  TlsFiles files;
  const auto read = [](const char* name, std::string& out) {
    const char* raw = std::getenv(name);
    if (raw == nullptr || *raw == '\0') return;
    if (std::FILE* f = std::fopen(raw, "rb"); f != nullptr) {
      std::fclose(f);
    } else {
      throw std::invalid_argument(std::string(name) + ": cannot read \"" + raw + "\"");
    }
    out = raw;
  };
  read("BEACON_AMQP_CA_FILE", files.ca_file);
  read("BEACON_AMQP_CERT_FILE", files.cert_file);
  read("BEACON_AMQP_KEY_FILE", files.key_file);
  if (files.cert_file.empty() != files.key_file.empty()) {
    throw std::invalid_argument("BEACON_AMQP_CERT_FILE and BEACON_AMQP_KEY_FILE go together: set both or neither");
  }
  return files;
}

Client::Client(ClientOptions options) : options_(std::move(options)), nodes_(parse_url_list(options_.url)) {
  if (options_.node_order == NodeOrder::random_start && nodes_.size() > 1) {
    std::random_device seed;
    node_ = std::uniform_int_distribution<std::size_t>(0, nodes_.size() - 1)(seed);
  }
}

Client::~Client() { close(); }

template <typename F>
auto Client::bounded(const char* what, std::chrono::milliseconds limit, F&& call) {
  bool fired = false;
  auto result = [&] {
    SendWatchdog::Scope scope(watchdog_, amqp_get_sockfd(conn_), std::chrono::steady_clock::now() + limit);
    auto r = call();
    fired = scope.fired();
    return r;
  }();
  if (fired) {
    lost(std::string("amqp: ") + what + " not written within " + std::to_string(limit.count()) + " ms (" +
         (blocked() ? blocked_text() : std::string("the broker reads nothing: blocked or unreachable")) +
         "); dropping the connection");
  }
  return result;
}

// ---------------------------------------------------------------- connection

void Client::connect() {
  close();
  const std::size_t start = tried_ ? (node_ + 1) % nodes_.size() : node_;
  tried_ = true;
  std::string failures;
  for (std::size_t k = 0; k < nodes_.size(); ++k) {
    node_ = (start + k) % nodes_.size();
    try {
      connect_node();
      return;
    } catch (const ConnectionLost& e) {
      if (nodes_.size() == 1) throw;
      spdlog::warn("amqp: node {} of {} failed: {}", node_ + 1, nodes_.size(), e.what());
      failures += (failures.empty() ? "" : "; ") + std::string(e.what());
    }
  }
  throw ConnectionLost("amqp: no node of " + std::to_string(nodes_.size()) + " answered: " + failures);
}

void Client::connect_node() {
  close();
  confirms_.reset();
  blocked_since_.reset();
  blocked_reason_.clear();

  conn_ = amqp_new_connection();
  if (conn_ == nullptr) throw ConnectionLost("amqp: out of memory creating a connection");
  amqp_socket_t* socket = node().tls ? tls_socket() : amqp_tcp_socket_new(conn_);
  if (socket == nullptr) lost("amqp: cannot create a TCP socket");

  const timeval connect_tv = to_timeval(options_.connect_timeout);
  if (int rc = amqp_socket_open_noblock(socket, node().host.c_str(), node().port, &connect_tv);
      rc != AMQP_STATUS_OK) {
    lost(node().tls ? "amqp: TLS connect failed" + tls_hint(rc) : std::string("amqp: cannot connect"), rc);
  }
  amqp_set_handshake_timeout(conn_, &connect_tv);
  const timeval rpc_tv = to_timeval(options_.rpc_timeout);
  amqp_set_rpc_timeout(conn_, &rpc_tv);

  // Capabilities: consumer_cancel_notify so a deleted queue cancels our
  // consumer visibly instead of silently starving it; connection.blocked so
  // a resource alarm is visible; authentication_failure_close so a bad
  // password is reported as such rather than as a dropped socket.
  amqp_table_entry_t capabilities[] = {bool_entry("consumer_cancel_notify"),
                                       bool_entry("connection.blocked"),
                                       bool_entry("authentication_failure_close")};
  const std::string product = "beacon";
  amqp_table_entry_t props[3];
  int n = 0;
  props[n++] = string_entry("product", product);
  if (!options_.connection_name.empty()) {
    props[n++] = string_entry("connection_name", options_.connection_name);
  }
  amqp_table_entry_t& caps = props[n++];
  caps.key = amqp_cstring_bytes("capabilities");
  caps.value.kind = AMQP_FIELD_KIND_TABLE;
  caps.value.value.table.num_entries = static_cast<int>(std::size(capabilities));
  caps.value.value.table.entries = capabilities;
  amqp_table_t properties{n, props};

  const amqp_rpc_reply_t login = amqp_login_with_properties(
      conn_, node().vhost.c_str(), 0, AMQP_DEFAULT_FRAME_SIZE, options_.heartbeat_s, &properties,
      AMQP_SASL_METHOD_PLAIN, node().user.c_str(), node().password.c_str());
  if (login.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION &&
      login.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
    const auto* m = static_cast<amqp_connection_close_t*>(login.reply.decoded);
    connection_closed("amqp: login refused", m->reply_code, text(m->reply_text));
  }
  if (login.reply_type != AMQP_RESPONSE_NORMAL) {
    lost("amqp: login failed",
         login.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION ? login.library_error
                                                              : AMQP_STATUS_CONNECTION_CLOSED);
  }

  open_channel(kConsumeChannel);
  open_channel(kPublishChannel);
  bounded("confirm.select", options_.rpc_timeout + options_.send_timeout,
          [&] { return amqp_confirm_select(conn_, kPublishChannel); });
  check_reply(kPublishChannel, "confirm.select");

  ++generation_;
  connected_ = true;
  spdlog::info("amqp: connected to {} (node {} of {}, heartbeat {}s, generation {})", node().redacted(), node_ + 1,
               nodes_.size(), amqp_get_heartbeat(conn_), generation_);
}

amqp_socket_t_* Client::tls_socket() {
  amqp_socket_t* socket = amqp_ssl_socket_new(conn_);
  if (socket == nullptr) lost("amqp: cannot create a TLS socket");
  // Both on, always: a TLS connection that trusts any certificate protects
  // nothing, and there is deliberately no switch to turn them off.
  amqp_ssl_socket_set_verify_peer(socket, 1);
  amqp_ssl_socket_set_verify_hostname(socket, 1);
  const TlsFiles& files = options_.tls;
  if (!files.ca_file.empty()) {
    if (amqp_ssl_socket_set_cacert(socket, files.ca_file.c_str()) != AMQP_STATUS_OK) {
      lost("amqp: BEACON_AMQP_CA_FILE " + files.ca_file + " holds no readable PEM certificate");
    }
  } else {
    auto* ctx = static_cast<SSL_CTX*>(amqp_ssl_socket_get_context(socket));
    if (ctx == nullptr || SSL_CTX_set_default_verify_paths(ctx) != 1) {
      lost("amqp: cannot load the system's CA certificates; set BEACON_AMQP_CA_FILE");
    }
  }
  if (!files.cert_file.empty() &&
      amqp_ssl_socket_set_key(socket, files.cert_file.c_str(), files.key_file.c_str()) != AMQP_STATUS_OK) {
    lost("amqp: cannot load the client certificate BEACON_AMQP_CERT_FILE " + files.cert_file +
         " with its key BEACON_AMQP_KEY_FILE");
  }
  return socket;
}

std::string Client::tls_hint(int status) const {
  switch (status) {
    case AMQP_STATUS_SSL_PEER_VERIFY_FAILED:
      return std::string(" (the broker's certificate is not signed by ") +
             (options_.tls.ca_file.empty() ? "a CA of the system's trust store; set BEACON_AMQP_CA_FILE"
                                           : "the CA in BEACON_AMQP_CA_FILE") +
             ")";
    case AMQP_STATUS_SSL_HOSTNAME_VERIFY_FAILED:
      return " (the broker's certificate does not name host " + node().host + ")";
    case AMQP_STATUS_SSL_CONNECTION_FAILED:
      return " (TLS handshake failed: is the port a TLS listener, and is the certificate valid and trusted?)";
    default:
      return "";
  }
}

void Client::close() noexcept {
  if (conn_ == nullptr) return;
  // A blocked connection reads nothing, so the graceful close could only
  // wait for its time-out: drop it (the broker sees the socket close when
  // it unblocks, and requeues what was unacked).
  if (connected_ && !blocked()) {
    amqp_set_rpc_timeout(conn_, &kCloseTimeout);
    // The reply does not matter: whatever it is, the connection is freed next.
    SendWatchdog::Scope scope(watchdog_, amqp_get_sockfd(conn_),
                              std::chrono::steady_clock::now() + std::chrono::seconds(kCloseTimeout.tv_sec) +
                                  options_.send_timeout);
    amqp_connection_close(conn_, AMQP_REPLY_SUCCESS);
  }
  drop();
}

std::optional<std::chrono::steady_clock::duration> Client::blocked_for() const {
  if (!blocked_since_) return std::nullopt;
  return std::chrono::steady_clock::now() - *blocked_since_;
}

std::string Client::blocked_text() const {
  const auto for_s = blocked_for() ? std::chrono::duration_cast<std::chrono::seconds>(*blocked_for()).count() : 0;
  return "the broker has blocked this connection for " + std::to_string(for_s) + " s (" +
         (blocked_reason_.empty() ? std::string("resource alarm") : blocked_reason_) + ")";
}

void Client::require_unblocked(const char* what) const {
  if (blocked()) {
    throw Timeout(std::string("amqp: ") + what + ": " + blocked_text() +
                  "; it reads nothing from this connection until the alarm clears");
  }
}

void Client::drop() noexcept {
  if (conn_ != nullptr) amqp_destroy_connection(conn_);  // also closes the socket
  conn_ = nullptr;
  connected_ = false;
  topology_channel_open_ = false;
  deliveries_.clear();  // their tags died with the connection
  incoming_consume_.reset();
  incoming_publish_.reset();
}

void Client::require_connected(const char* what) const {
  if (!connected_) {
    throw ConnectionLost(std::string("amqp: ") + what + " needs a connection; call connect()");
  }
}

void Client::lost(const std::string& what) {
  drop();
  throw ConnectionLost(what + " (" + node().redacted() + ")");
}

void Client::lost(const std::string& what, int status) {
  lost(what + ": " + amqp_error_string2(status));
}

void Client::check_status(int status, const char* what) {
  if (status != AMQP_STATUS_OK) lost(std::string("amqp: ") + what + " failed", status);
}


void Client::check_reply(std::uint16_t channel, const char* what) {
  const amqp_rpc_reply_t reply = amqp_get_rpc_reply(conn_);
  switch (reply.reply_type) {
    case AMQP_RESPONSE_NORMAL:
      return;
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
      // Includes AMQP_STATUS_TIMEOUT: rabbitmq-c closes the socket on an RPC timeout.
      lost(std::string("amqp: ") + what + " failed", reply.library_error);
    case AMQP_RESPONSE_SERVER_EXCEPTION:
      if (reply.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
        const auto* m = static_cast<amqp_channel_close_t*>(reply.reply.decoded);
        channel_closed(channel, m->reply_code, text(m->reply_text));
      }
      if (reply.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
        const auto* m = static_cast<amqp_connection_close_t*>(reply.reply.decoded);
        connection_closed(what, m->reply_code, text(m->reply_text));
      }
      lost(std::string("amqp: ") + what + ": unexpected reply " +
           amqp_method_name(reply.reply.id));
    default:
      lost(std::string("amqp: ") + what + ": no reply");
  }
}

void Client::channel_closed(std::uint16_t channel, std::uint16_t code, std::string reason) {
  amqp_channel_close_ok_t ok{};
  const int rc = bounded("channel.close-ok", options_.send_timeout,
                         [&] { return amqp_send_method(conn_, channel, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok); });
  release(channel);
  if (rc != AMQP_STATUS_OK) {
    lost("amqp: channel " + std::to_string(channel) + " closed by broker (" +
             std::to_string(code) + " " + reason + "), then the connection failed",
         rc);
  }
  if (channel == kTopologyChannel) {
    // Only the declare channel died; it is reopened by the next declare.
    topology_channel_open_ = false;
    throw ChannelClosed(channel, code, std::move(reason));
  }
  // Consumer or publisher channel: its consumers and confirm numbering are
  // gone, so the whole session is restarted by the caller's reconnect.
  spdlog::warn("amqp: broker closed channel {} ({} {}); dropping the connection", channel, code,
               reason);
  drop();
  throw ChannelClosed(channel, code, std::move(reason));
}

void Client::connection_closed(const char* what, std::uint16_t code, std::string reason) {
  amqp_connection_close_ok_t ok{};
  {
    SendWatchdog::Scope scope(watchdog_, amqp_get_sockfd(conn_),
                              std::chrono::steady_clock::now() + options_.send_timeout);
    amqp_send_method(conn_, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok);  // courtesy; we leave anyway
  }
  lost(std::string(what) + ": broker closed the connection: " + std::to_string(code) + " " +
       reason);
}

void Client::open_channel(std::uint16_t channel) {
  require_unblocked("channel.open");
  bounded("channel.open", options_.rpc_timeout + options_.send_timeout,
          [&] { return amqp_channel_open(conn_, channel); });
  check_reply(channel, "channel.open");
  release(channel);
}

void Client::ensure_topology_channel() {
  require_connected("topology");
  if (topology_channel_open_) return;
  open_channel(kTopologyChannel);
  topology_channel_open_ = true;
}

void Client::release(std::uint16_t channel) noexcept {
  // Hands the frame memory of `channel` back to rabbitmq-c once we copied
  // what we need; it keeps it while frames of that channel are still queued.
  if (conn_ != nullptr) amqp_maybe_release_buffers_on_channel(conn_, channel);
}

// ------------------------------------------------------------------ topology

void Client::declare_exchange(const std::string& name, const std::string& type, bool durable) {
  ensure_topology_channel();
  require_unblocked("exchange.declare");
  bounded("exchange.declare", options_.rpc_timeout + options_.send_timeout, [&] {
    return amqp_exchange_declare(conn_, kTopologyChannel, bytes(name), bytes(type), 0, durable ? 1 : 0, 0, 0,
                                 amqp_empty_table);
  });
  check_reply(kTopologyChannel, "exchange.declare");
  release(kTopologyChannel);
}

std::string Client::declare_queue(const std::string& name, const QueueArgs& args) {
  ensure_topology_channel();
  FieldTable table;
  if (!args.type.empty()) table.set("x-queue-type", args.type);
  if (!args.dead_letter_exchange.empty()) {
    table.set("x-dead-letter-exchange", args.dead_letter_exchange);
  }
  // Classic queues have no delivery limit: sending it would only mislead.
  if (args.type == "quorum" && args.delivery_limit > 0) {
    table.set("x-delivery-limit", static_cast<std::int64_t>(args.delivery_limit));
  }
  if (args.type == "quorum" && args.quorum_group_size > 0) {
    table.set("x-quorum-initial-group-size", static_cast<std::int64_t>(args.quorum_group_size));
  }
  if (args.expires_ms > 0) table.set("x-expires", args.expires_ms);
  require_unblocked("queue.declare");
  const amqp_queue_declare_ok_t* ok = bounded("queue.declare", options_.rpc_timeout + options_.send_timeout, [&] {
    return amqp_queue_declare(conn_, kTopologyChannel, bytes(name), 0, args.durable ? 1 : 0, args.exclusive ? 1 : 0,
                              args.auto_delete ? 1 : 0, table.table());
  });
  check_reply(kTopologyChannel, "queue.declare");
  std::string actual = text(ok->queue);
  release(kTopologyChannel);
  return actual;
}

void Client::bind_queue(const std::string& queue, const std::string& exchange,
                        const std::string& routing_key) {
  ensure_topology_channel();
  require_unblocked("queue.bind");
  bounded("queue.bind", options_.rpc_timeout + options_.send_timeout, [&] {
    return amqp_queue_bind(conn_, kTopologyChannel, bytes(queue), bytes(exchange), bytes(routing_key),
                           amqp_empty_table);
  });
  check_reply(kTopologyChannel, "queue.bind");
  release(kTopologyChannel);
}

std::string Client::declare_temp_queue_bound_to(const std::string& exchange) {
  QueueArgs args;
  args.durable = false;
  args.exclusive = true;
  args.auto_delete = true;
  const std::string name = declare_queue("", args);
  bind_queue(name, exchange, "");
  return name;
}

void Client::delete_queue(const std::string& name) {
  ensure_topology_channel();
  require_unblocked("queue.delete");
  bounded("queue.delete", options_.rpc_timeout + options_.send_timeout,
          [&] { return amqp_queue_delete(conn_, kTopologyChannel, bytes(name), 0, 0); });
  check_reply(kTopologyChannel, "queue.delete");
  release(kTopologyChannel);
}

void Client::delete_exchange(const std::string& name) {
  ensure_topology_channel();
  require_unblocked("exchange.delete");
  bounded("exchange.delete", options_.rpc_timeout + options_.send_timeout,
          [&] { return amqp_exchange_delete(conn_, kTopologyChannel, bytes(name), 0); });
  check_reply(kTopologyChannel, "exchange.delete");
  release(kTopologyChannel);
}

std::uint32_t Client::queue_message_count(const std::string& name) {
  ensure_topology_channel();
  require_unblocked("queue.declare (passive)");
  const amqp_queue_declare_ok_t* ok =
      bounded("queue.declare (passive)", options_.rpc_timeout + options_.send_timeout,
              [&] { return amqp_queue_declare(conn_, kTopologyChannel, bytes(name), 1, 0, 0, 0, amqp_empty_table); });
  check_reply(kTopologyChannel, "queue.declare (passive)");
  const std::uint32_t count = ok->message_count;
  release(kTopologyChannel);
  return count;
}

// ----------------------------------------------------------------- consuming

void Client::set_prefetch(std::uint16_t count) {
  require_connected("basic.qos");
  require_unblocked("basic.qos");
  bounded("basic.qos", options_.rpc_timeout + options_.send_timeout,
          [&] { return amqp_basic_qos(conn_, kConsumeChannel, 0, count, 0); });
  check_reply(kConsumeChannel, "basic.qos");
}

std::string Client::consume(const std::string& queue) {
  require_connected("basic.consume");
  require_unblocked("basic.consume");
  const amqp_basic_consume_ok_t* ok = bounded("basic.consume", options_.rpc_timeout + options_.send_timeout, [&] {
    return amqp_basic_consume(conn_, kConsumeChannel, bytes(queue), amqp_empty_bytes, 0, 0, 0, amqp_empty_table);
  });
  check_reply(kConsumeChannel, "basic.consume");
  return text(ok->consumer_tag);
}

void Client::cancel(const std::string& consumer_tag) {
  require_connected("basic.cancel");
  // Always nowait: a draining owner must never wait for a cancel-ok. Under a
  // resource alarm none may come for rpc_timeout, and connection.blocked can
  // reach us only after the cancel was sent (a race the worker lost under
  // load). Deliveries already on their way still arrive; callers handle them.
  amqp_basic_cancel_t m{};
  m.consumer_tag = bytes(consumer_tag);
  m.nowait = 1;
  check_status(bounded("basic.cancel", options_.send_timeout,
                       [&] { return amqp_send_method(conn_, kConsumeChannel, AMQP_BASIC_CANCEL_METHOD, &m); }),
               "basic.cancel");
}

void Client::ack(std::uint64_t tag, bool multiple) {
  require_connected("basic.ack");
  check_status(bounded("basic.ack", options_.send_timeout,
                       [&] { return amqp_basic_ack(conn_, kConsumeChannel, tag, multiple ? 1 : 0); }),
               "basic.ack");
}

void Client::reject(std::uint64_t tag, bool requeue) {
  require_connected("basic.reject");
  check_status(bounded("basic.reject", options_.send_timeout,
                       [&] { return amqp_basic_reject(conn_, kConsumeChannel, tag, requeue ? 1 : 0); }),
               "basic.reject");
}

std::optional<Delivery> Client::take_delivery() {
  if (deliveries_.empty()) return std::nullopt;
  Delivery d = std::move(deliveries_.front());
  deliveries_.pop_front();
  return d;
}

// ---------------------------------------------------------------- publishing

std::uint64_t Client::publish(const std::string& exchange, const std::string& routing_key,
                              std::string_view body, const PublishProps& props) {
  require_connected("basic.publish");
  FieldTable headers(props.headers);
  headers.set(std::string(kPublishSeqHeader), std::to_string(confirms_.next_seq()));

  amqp_basic_properties_t p{};
  p._flags = AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_HEADERS_FLAG;
  p.delivery_mode = props.persistent ? 2 : 1;
  p.headers = headers.table();
  if (!props.content_type.empty()) {
    p._flags |= AMQP_BASIC_CONTENT_TYPE_FLAG;
    p.content_type = bytes(props.content_type);
  }
  if (!props.message_id.empty()) {
    p._flags |= AMQP_BASIC_MESSAGE_ID_FLAG;
    p.message_id = bytes(props.message_id);
  }
  // Counted before sending: if the send fails half-way, this publish is
  // among the unknown ones, as it should be.
  const std::uint64_t seq = confirms_.on_publish();
  check_status(bounded("basic.publish", options_.send_timeout,
                       [&] {
                         return amqp_basic_publish(conn_, kPublishChannel, bytes(exchange), bytes(routing_key),
                                                   props.mandatory ? 1 : 0, 0, &p, bytes(body));
                       }),
               "basic.publish");
  return seq;
}

std::vector<Confirm> Client::take_confirms() { return confirms_.take(); }

std::vector<Confirm> Client::wait_for_confirms(std::chrono::steady_clock::time_point deadline) {
  using namespace std::chrono;
  while (confirms_.unconfirmed() > 0) {
    const auto now = steady_clock::now();
    if (now >= deadline) {
      throw Timeout("amqp: " + std::to_string(confirms_.unconfirmed()) +
                    " publishes still unconfirmed at the deadline");
    }
    poll(duration_cast<milliseconds>(deadline - now) + milliseconds(1));
  }
  return confirms_.take();
}

// ---------------------------------------------------------------------- pump

void Client::poll(std::chrono::milliseconds timeout) {
  require_connected("poll");
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (int handled = 0; handled < kMaxFramesPerPoll; ++handled) {
    // Wait for the first frame; after that take only what is already there.
    const auto left = handled == 0 ? deadline - std::chrono::steady_clock::now()
                                   : std::chrono::steady_clock::duration::zero();
    const timeval tv = to_timeval(std::chrono::duration_cast<std::chrono::microseconds>(left));
    amqp_frame_t frame;
    // The wait may write a heartbeat: bound it like any write.
    const int rc = bounded("heartbeat", std::chrono::duration_cast<std::chrono::milliseconds>(left) +
                                            options_.send_timeout,
                           [&] { return amqp_simple_wait_frame_noblock(conn_, &frame, &tv); });
    if (rc == AMQP_STATUS_TIMEOUT) return;
    if (rc != AMQP_STATUS_OK) lost("amqp: connection lost", rc);

    switch (frame.frame_type) {
      case AMQP_FRAME_METHOD:
        handle_method(frame.channel, frame.payload.method.id, frame.payload.method.decoded);
        break;
      case AMQP_FRAME_HEADER:
        handle_header(frame.channel, frame.payload.properties.body_size,
                      frame.payload.properties.decoded);
        break;
      case AMQP_FRAME_BODY:
        handle_body(frame.channel,
                    std::string_view(static_cast<const char*>(frame.payload.body_fragment.bytes),
                                     frame.payload.body_fragment.len));
        break;
      default:  // heartbeats are consumed inside rabbitmq-c
        break;
    }
    release(frame.channel);
  }
}

void Client::handle_method(std::uint16_t channel, std::uint32_t id, void* decoded) {
  if (auto* slot = incoming(channel); slot != nullptr && slot->has_value()) {
    // AMQP forbids other methods on a channel until its content is complete.
    lost("amqp: protocol error: " + std::string(amqp_method_name(id)) + " on channel " +
         std::to_string(channel) + " in the middle of a message");
  }
  switch (id) {
    case AMQP_CONNECTION_CLOSE_METHOD: {
      const auto* m = static_cast<amqp_connection_close_t*>(decoded);
      connection_closed("amqp", m->reply_code, text(m->reply_text));
    }
    case AMQP_CONNECTION_BLOCKED_METHOD:
      if (!blocked_since_) blocked_since_ = std::chrono::steady_clock::now();
      blocked_reason_ = text(static_cast<amqp_connection_blocked_t*>(decoded)->reason);
      spdlog::warn("amqp: broker blocked this connection ({}): it reads nothing until the alarm clears; "
                   "publishes wait unconfirmed",
                   blocked_reason_);
      return;
    case AMQP_CONNECTION_UNBLOCKED_METHOD: {
      const auto was = blocked_for().value_or(std::chrono::steady_clock::duration::zero());
      blocked_since_.reset();
      blocked_reason_.clear();
      spdlog::info("amqp: broker unblocked this connection after {} s",
                   std::chrono::duration_cast<std::chrono::seconds>(was).count());
      return;
    }
    case AMQP_CHANNEL_CLOSE_METHOD: {
      const auto* m = static_cast<amqp_channel_close_t*>(decoded);
      channel_closed(channel, m->reply_code, text(m->reply_text));
    }
    case AMQP_BASIC_DELIVER_METHOD: {
      const auto* m = static_cast<amqp_basic_deliver_t*>(decoded);
      Incoming in;
      in.message.generation = generation_;
      in.message.tag = m->delivery_tag;
      in.message.redelivered = m->redelivered != 0;
      in.message.exchange = text(m->exchange);
      in.message.routing_key = text(m->routing_key);
      in.message.consumer_tag = text(m->consumer_tag);
      content_slot(channel, "basic.deliver") = std::move(in);
      return;
    }
    case AMQP_BASIC_RETURN_METHOD: {
      const auto* m = static_cast<amqp_basic_return_t*>(decoded);
      Incoming in;
      in.is_return = true;
      in.return_reason = "returned: " + text(m->reply_text);
      in.message.exchange = text(m->exchange);
      in.message.routing_key = text(m->routing_key);
      content_slot(channel, "basic.return") = std::move(in);
      return;
    }
    case AMQP_BASIC_ACK_METHOD: {
      const auto* m = static_cast<amqp_basic_ack_t*>(decoded);
      if (channel == kPublishChannel) confirms_.on_ack(m->delivery_tag, m->multiple != 0);
      return;
    }
    case AMQP_BASIC_NACK_METHOD: {
      const auto* m = static_cast<amqp_basic_nack_t*>(decoded);
      if (channel == kPublishChannel) confirms_.on_nack(m->delivery_tag, m->multiple != 0);
      return;
    }
    case AMQP_BASIC_CANCEL_METHOD: {
      // The broker cancelled our consumer (its queue was deleted).
      const auto* m = static_cast<amqp_basic_cancel_t*>(decoded);
      std::string tag = text(m->consumer_tag);
      if (!m->nowait) {
        amqp_basic_cancel_ok_t ok{};
        ok.consumer_tag = m->consumer_tag;
        check_status(bounded("basic.cancel-ok", options_.send_timeout,
                             [&] { return amqp_send_method(conn_, channel, AMQP_BASIC_CANCEL_OK_METHOD, &ok); }),
                     "basic.cancel-ok");
      }
      release(channel);
      throw ConsumerCancelled(std::move(tag));
    }
    default:
      spdlog::warn("amqp: ignoring unexpected {} on channel {}", amqp_method_name(id), channel);
      return;
  }
}

std::optional<Client::Incoming>* Client::incoming(std::uint16_t channel) {
  if (channel == kConsumeChannel) return &incoming_consume_;
  if (channel == kPublishChannel) return &incoming_publish_;
  return nullptr;  // no content ever flows on channels 0 and 3
}

std::optional<Client::Incoming>& Client::content_slot(std::uint16_t channel, const char* what) {
  auto* slot = incoming(channel);
  if (slot == nullptr) {
    lost(std::string("amqp: protocol error: ") + what + " on channel " + std::to_string(channel));
  }
  return *slot;
}

void Client::handle_header(std::uint16_t channel, std::uint64_t body_size,
                           const void* properties) {
  auto& in = content_slot(channel, "content header");
  if (!in.has_value() || in->body.has_value()) {
    lost("amqp: protocol error: unexpected content header on channel " + std::to_string(channel));
  }
  const auto* p = static_cast<const amqp_basic_properties_t*>(properties);
  if ((p->_flags & AMQP_BASIC_MESSAGE_ID_FLAG) != 0) in->message.message_id = text(p->message_id);
  if ((p->_flags & AMQP_BASIC_CONTENT_TYPE_FLAG) != 0) {
    in->message.content_type = text(p->content_type);
  }
  if ((p->_flags & AMQP_BASIC_HEADERS_FLAG) != 0) {
    in->message.headers = headers_from_table(p->headers);
  }
  in->body.emplace(body_size, options_.max_body_bytes);
  if (in->body->complete()) finish(channel);  // empty body: no body frames follow
}

void Client::handle_body(std::uint16_t channel, std::string_view fragment) {
  auto& in = content_slot(channel, "content body");
  if (!in.has_value() || !in->body.has_value()) {
    lost("amqp: protocol error: unexpected content body on channel " + std::to_string(channel));
  }
  try {
    in->body->append(fragment);
  } catch (const AmqpError& e) {
    lost(e.what());
  }
  if (in->body->complete()) finish(channel);
}

void Client::finish(std::uint16_t channel) {
  auto& slot = *incoming(channel);
  Incoming in = std::move(*slot);
  slot.reset();
  in.message.body_size = in.body->declared_size();
  in.message.oversized = in.body->oversized();
  in.message.body = in.body->take_body();

  const auto seq_header = in.message.headers.find(std::string(kPublishSeqHeader));
  if (!in.is_return) {
    if (seq_header != in.message.headers.end()) in.message.headers.erase(seq_header);
    deliveries_.push_back(std::move(in.message));
    return;
  }
  // Every publish on our channel carries the header; a return without it
  // cannot be matched to its publish, and guessing could report a lost
  // message as confirmed. Better to fail loudly: all become unknown.
  std::uint64_t seq = 0;
  if (seq_header == in.message.headers.end() ||
      std::from_chars(seq_header->second.data(),
                      seq_header->second.data() + seq_header->second.size(), seq)
              .ec != std::errc()) {
    lost("amqp: protocol error: a returned message carries no " + std::string(kPublishSeqHeader));
  }
  confirms_.on_return(seq, std::move(in.return_reason));
}

}  // namespace beacon::amqp

#pragma once
// The broker address as beacon takes it: amqp[s]://user:pass@host:port/vhost,
// or several such nodes separated by commas (SPEC "Decisions"). The password
// is kept for login only; anything that logs uses redacted().
#include <string>
#include <string_view>
#include <vector>

namespace beacon::amqp {

// Which node of a BEACON_AMQP_URL list a client tries first. Later connects
// (a reconnect after a loss) always start at the node after the one used last.
enum class NodeOrder {
  random_start,  // default: a fleet of parts spreads over the cluster
  listed,        // the first node of the list first (e.g. the one on this host)
};

// Files for amqps:// nodes (BEACON_AMQP_CA_FILE, BEACON_AMQP_CERT_FILE,
// BEACON_AMQP_KEY_FILE). The broker's certificate is always verified, and
// its name against the host of the URL; with no ca_file the system's trust
// store is used (what a managed service's public certificate needs).
struct TlsFiles {
  std::string ca_file;    // PEM bundle of the CA(s) that signed the broker's certificate
  std::string cert_file;  // optional client certificate (PEM), with key_file
  std::string key_file;
};

struct AmqpUrl {
  std::string host;
  int port = 5672;
  std::string user = "guest";
  std::string password = "guest";
  std::string vhost = "/";
  bool tls = false;  // amqps://

  // amqp[s]://user:***@host:port/vhost (vhost percent-encoded, omitted when "/").
  std::string redacted() const;
};

// One node, parsed with rabbitmq-c's own amqp_parse_url so beacon accepts
// exactly what the library connects to, plus the checks it lacks: a host must
// be written (rabbitmq-c silently takes "localhost"), the port is 1..65535,
// and an '@' may appear once, before the host. The last rule is about
// secrets: a password with an unencoded '/', '?', '#' or '@' would otherwise
// be read as host, port or vhost and end up in log lines; it must be
// percent-encoded (%2F %3F %23 %40). Missing parts take the library defaults
// (guest/guest, port 5672, 5671 for amqps); a missing or empty vhost means
// "/", and "%2f" decodes to "/". amqps:// parses (tls = true).
// Throws std::invalid_argument with a message that never echoes the input.
AmqpUrl parse_node(std::string_view url);

// A comma-separated list of nodes of one cluster (spaces around commas
// allowed), each parsed by parse_node; an empty element is an error. Every
// node must carry the same user, password, vhost and scheme as the first:
// they are one broker reached at several addresses, and a list that mixes
// credentials, vhosts or amqp:// with amqps:// is a mistake that would only
// show on a failover (a login refused, or a plaintext fallback), so it is
// refused up front. The message of the exception says which node
// ("node 2 of 3: ...") and never echoes the input.
std::vector<AmqpUrl> parse_url_list(std::string_view urls);

// The first node of the list (all are validated as parse_url_list does).
// Throws std::invalid_argument; the message never echoes the password.
AmqpUrl parse_url(std::string_view urls);

// The one way to show a broker URL the user gave: its redacted form per node,
// or "(unparsable AMQP URL)". Never the password.
std::string redact(std::string_view urls);

}  // namespace beacon::amqp

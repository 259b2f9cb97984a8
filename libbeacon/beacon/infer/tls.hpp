#pragma once
// TLS set-up for outgoing connections: verification is always on.
//
// Chain verification uses the endpoint's ca_file or the system store; the
// host name (or IP address) is checked by OpenSSL itself during the handshake
// (SSL_set1_host / X509_VERIFY_PARAM_set1_ip_asc, what Boost's
// host_name_verification does in a callback), so a mismatch fails the handshake
// with X509_V_ERR_HOSTNAME_MISMATCH and a message that says so.
#include <memory>
#include <string>

#include <beacon/infer/asio.hpp>

namespace beacon::infer {

// TLS 1.2+, verify_peer. Throws std::runtime_error naming ca_file when it
// cannot be loaded.
std::shared_ptr<net::ssl::context> make_client_tls_context(const std::string& ca_file);

// Per connection, before the handshake: SNI (host names only, RFC 6066) and
// the name or address the certificate must carry. Throws std::runtime_error.
void prepare_tls_connection(SSL* ssl, const std::string& host);

// Why a handshake failed, in words an operator can act on.
std::string describe_tls_error(SSL* ssl, const error_code& ec);

}  // namespace beacon::infer

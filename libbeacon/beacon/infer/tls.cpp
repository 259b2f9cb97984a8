#include <beacon/infer/tls.hpp>

#include <stdexcept>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

namespace beacon::infer {

namespace {

bool is_ip_literal(const std::string& host) {
  error_code ec;
  net::ip::make_address(host, ec);
  return !ec;
}

}  // namespace

std::shared_ptr<net::ssl::context> make_client_tls_context(const std::string& ca_file) {
  auto ctx = std::make_shared<net::ssl::context>(net::ssl::context::tls_client);
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  ctx->set_verify_mode(net::ssl::verify_peer);
  error_code ec;
  if (ca_file.empty()) {
    ctx->set_default_verify_paths(ec);
    if (ec) throw std::runtime_error("cannot load the system CA store: " + ec.message());
  } else {
    ctx->load_verify_file(ca_file, ec);
    if (ec) throw std::runtime_error("cannot load ca_file '" + ca_file + "': " + ec.message());
  }
  return ctx;
}

void prepare_tls_connection(SSL* ssl, const std::string& host) {
  if (is_ip_literal(host)) {
    if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str()) != 1) {
      throw std::runtime_error("cannot set the IP address to verify");
    }
    return;
  }
  if (SSL_set_tlsext_host_name(ssl, host.c_str()) != 1) throw std::runtime_error("cannot set SNI");
  // No partial wildcards ("w*.example.com"): only what browsers accept.
  SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  if (SSL_set1_host(ssl, host.c_str()) != 1) throw std::runtime_error("cannot set the host name to verify");
}

std::string describe_tls_error(SSL* ssl, const error_code& ec) {
  if (ssl != nullptr) {
    const long result = SSL_get_verify_result(ssl);
    if (result != X509_V_OK) {
      return std::string("certificate verification failed: ") + X509_verify_cert_error_string(result);
    }
  }
  return "TLS handshake failed: " + ec.message();
}

}  // namespace beacon::infer

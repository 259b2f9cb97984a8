#pragma once
// A throw-away PKI for the HTTPS tests, made with OpenSSL in memory: a CA and
// a server certificate it signed for the given names. Nothing here is
// trusted by the system store, which is what the "no ca_file" test relies on.
#include <memory>
#include <string>
#include <vector>

#include <beacon/infer/asio.hpp>

namespace beacon::infer::testing {

struct TestPki {
  std::string ca_cert_pem;
  std::string server_cert_pem;
  std::string server_key_pem;
};

// Server certificate with subjectAltName DNS:<dns_names...>, IP:<ips...>.
TestPki make_test_pki(const std::vector<std::string>& dns_names, const std::vector<std::string>& ips);

std::shared_ptr<net::ssl::context> server_tls_context(const TestPki& pki);

// Writes `content` to a fresh file under the system temp directory; removed
// when the returned object is destroyed.
class TempFile {
 public:
  explicit TempFile(const std::string& content);
  ~TempFile();
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace beacon::infer::testing

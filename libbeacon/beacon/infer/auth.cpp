#include <beacon/infer/auth.hpp>

#include <openssl/evp.h>

#include <cctype>

namespace beacon::infer {

namespace {

std::string percent_decode(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out.push_back(static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::string base64(const std::string& in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

}  // namespace

std::string authorization_header(const EndpointConfig& ep) {
  if (!ep.api_key.empty()) return "Bearer " + ep.api_key;
  if (!ep.parsed_url.userinfo.empty()) return "Basic " + base64(percent_decode(ep.parsed_url.userinfo));
  return "";
}

}  // namespace beacon::infer

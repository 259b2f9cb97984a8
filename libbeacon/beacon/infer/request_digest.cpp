#include <beacon/infer/request_digest.hpp>

#include <stdexcept>

#include <openssl/evp.h>

#include <beacon/core/json.hpp>

namespace beacon::infer {
namespace {

constexpr int kDigestVersion = 1;

std::string sha256_hex(const std::string& material) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(material.data(), material.size(), digest, &len, EVP_sha256(), nullptr) != 1)
    throw std::runtime_error("SHA-256 failed");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(2 * len);
  for (unsigned int i = 0; i < len; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 0xf];
  }
  return hex;
}

// scheme://host[:port]/path[?query]: the URL without its userinfo (a secret
// that does not change the answer); the default port is left out, so
// http://h:80/v1 and http://h/v1 are one endpoint.
std::string endpoint_of(const Url& url) {
  return url.scheme + "://" + url.host_header() + url.target();
}

}  // namespace

std::string request_digest(const EndpointConfig& ep, const InferenceRequest& req) {
  const WireRequest wire = build_request(ep, req);
  const auto seed = sent_seed(ep, req);
  // A JSON document, so no field can run into the next one.
  rapidjson::StringBuffer buf;
  json::Writer w(buf);
  w.StartObject();
  w.Key("v");
  w.Int(kDigestVersion);
  const std::string endpoint = endpoint_of(wire.url);
  w.Key("endpoint");
  w.String(endpoint.data(), static_cast<rapidjson::SizeType>(endpoint.size()));
  const auto protocol = to_string(ep.protocol);
  w.Key("protocol");
  w.String(protocol.data(), static_cast<rapidjson::SizeType>(protocol.size()));
  w.Key("body");
  w.String(wire.body.data(), static_cast<rapidjson::SizeType>(wire.body.size()));
  if (!seed) {
    w.Key("sample");
    w.Int(req.sample);
  }
  w.EndObject();
  return sha256_hex(std::string(buf.GetString(), buf.GetSize()));
}

}  // namespace beacon::infer

#pragma once
// The Authorization header for an endpoint: "Bearer <token>" from the
// variable named by api_key_env, else HTTP Basic from user:password in the
// URL, else none. The result is a secret: it goes on the wire and nowhere else.
#include <string>

#include <beacon/infer/endpoints.hpp>

namespace beacon::infer {

std::string authorization_header(const EndpointConfig& ep);

}  // namespace beacon::infer

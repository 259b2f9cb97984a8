#pragma once
// The name of an exact request (issue 10, reuse across jobs): a SHA-256 over
// everything that determines the answer, so that an execution of a later job
// with "reuse": "completed" can copy an earlier job's answer to the very same
// request instead of paying the endpoint again.
//
// What goes in (digest format version 1):
//   * the endpoint: scheme, host, port, path and query of the URL the request
//     is POSTed to (userinfo and the API key are not: a rotated key still
//     reaches the same server);
//   * the protocol (openai, beacon);
//   * the request body exactly as build_request() writes it: the served model
//     name, the messages (system prompt after {region}/{model} are filled, and
//     the prompt), every parameter as sent (read and re-written in a fixed
//     order, so the spelling and key order of the job's params do not
//     matter; a parameter beacon does not send cannot change the answer) and
//     the seed actually sent (params.seed + sample), so k samples with a seed
//     are k different requests;
//   * the sample index when no seed is sent: without a seed the samples of
//     one question are otherwise identical, and reuse must never collapse k
//     samples into one answer.
// A change of what beacon sends changes the digest: reuse then misses and
// pays, never copies an answer to a different request.
#include <string>

#include <beacon/infer/endpoints.hpp>
#include <beacon/infer/protocol.hpp>

namespace beacon::infer {

// 64 lower-case hex digits. Throws BadInput as build_request() does (bad
// params): such a request is never sent, so it has no answer to reuse.
std::string request_digest(const EndpointConfig& ep, const InferenceRequest& req);

}  // namespace beacon::infer

// InferenceClient::cancel_queued: a cancel stops the spending. Requests not on
// the wire end cancelled without an endpoint call; requests on the wire, and
// queued ones the predicate does not match, run normally.
#include <beacon/infer/inference_client.hpp>

#include <mutex>

#include <gtest/gtest.h>

#include "test_server.hpp"

namespace beacon::infer {
namespace {

using namespace std::chrono_literals;
using testing::Reply;
using testing::TestServer;

TEST(InferenceClientCancel, QueuedMatchingRequestsEndCancelledWithoutACall) {
  TestServer server([](const auto&) { return Reply::ok(testing::openai_body("ok")).after(300ms); });
  net::io_context ioc;
  auto file = R"({"endpoints": [{"region": "r", "model": "*", "url": ")" + server.url("/v1") +
              R"(", "max_in_flight": 2}]})";
  InferenceClient client(ioc, EndpointTable::parse(file));
  const EndpointConfig& ep = client.table().entries().front();
  std::mutex mutex;
  std::map<std::string, InferenceOutcome> outcomes;
  for (int i = 0; i < 6; ++i) {
    InferenceRequest r;
    r.model_id = "m";
    r.region = "r";
    r.prompt = "q" + std::to_string(i);
    r.caller_tag = "job-a#" + std::to_string(i);
    client.submit(ep, r, [&, tag = r.caller_tag](InferenceOutcome o) {
      std::lock_guard lock(mutex);
      outcomes[tag] = std::move(o);
    });
  }
  ASSERT_TRUE(testing::run_until(ioc, [&] { return server.requests() >= 2; }, 10s));
  // Everything but the last one; the two on the wire are out of reach.
  client.cancel_queued([](const InferenceRequest& r) { return r.caller_tag != "job-a#5"; });
  ASSERT_TRUE(testing::run_until(
      ioc,
      [&] {
        std::lock_guard lock(mutex);
        return outcomes.size() == 6;
      },
      10s));
  EXPECT_EQ(server.requests(), 3) << "two on the wire at the cancel, and the one it did not match";
  for (int i = 0; i < 6; ++i) {
    const auto& o = outcomes["job-a#" + std::to_string(i)];
    if (i < 2 || i == 5) {
      EXPECT_TRUE(o.ok) << i;
      EXPECT_FALSE(o.cancelled) << i;
    } else {
      EXPECT_FALSE(o.ok) << i;
      EXPECT_TRUE(o.cancelled) << i;
      EXPECT_FALSE(o.aborted) << i << ": a cancel is not a shutdown";
      EXPECT_EQ(o.attempts, 0) << i;
      ASSERT_TRUE(o.error.has_value());
      EXPECT_EQ(o.error->kind, ErrorKind::cancelled);
    }
  }
}

}  // namespace
}  // namespace beacon::infer

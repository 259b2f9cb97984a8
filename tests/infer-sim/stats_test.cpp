#include "stats.hpp"

#include <gtest/gtest.h>

namespace beacon::sim {
namespace {

TEST(Stats, RendersJson) {
  Stats s;
  const RequestKey a{"m", "us-east", "q \"1\"", 7};
  const RequestKey a_other_seed{"m", "us-east", "q \"1\"", 8};
  s.received(&a);
  s.received(&a);
  s.received(&a_other_seed);
  s.received(nullptr);
  s.completed(a);
  s.completed(a);
  s.finished("200");
  s.finished("200");
  s.finished("dropped");
  // per_second is keyed by the wall-clock second of arrival: all four
  // arrived within this test, in one second or two.
  const std::string json = s.to_json();
  const std::string head =
      R"({"requests":4,"completed":2,"duplicates":1,"completed_duplicates":1,"in_flight":1,)"
      R"("max_in_flight":4,"by_status":{"200":2,"dropped":1},"by_key":{"m|us-east|q \"1\"":3},"per_second":{")";
  EXPECT_EQ(json.substr(0, head.size()), head) << json;
  const bool one_second = json.find("\":4}}") != std::string::npos;
  const bool two_seconds = json.find(",\"") != std::string::npos && json.ends_with("}}");
  EXPECT_TRUE(one_second || two_seconds) << json;
  s.reset();
  EXPECT_EQ(s.to_json(),
            R"({"requests":0,"completed":0,"duplicates":0,"completed_duplicates":0,"in_flight":1,)"
            R"("max_in_flight":1,"by_status":{},"by_key":{},"per_second":{}})");
}

}  // namespace
}  // namespace beacon::sim

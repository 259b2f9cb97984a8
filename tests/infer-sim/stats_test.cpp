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
  EXPECT_EQ(s.to_json(),
            R"({"requests":4,"completed":2,"duplicates":1,"completed_duplicates":1,"in_flight":1,)"
            R"("max_in_flight":4,"by_status":{"200":2,"dropped":1},"by_key":{"m|us-east|q \"1\"":3}})");
  s.reset();
  EXPECT_EQ(s.to_json(),
            R"({"requests":0,"completed":0,"duplicates":0,"completed_duplicates":0,"in_flight":1,)"
            R"("max_in_flight":1,"by_status":{},"by_key":{}})");
}

}  // namespace
}  // namespace beacon::sim

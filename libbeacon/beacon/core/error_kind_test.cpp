#include <beacon/core/error_kind.hpp>

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace beacon {
namespace {

TEST(ErrorKind, EveryKindRoundTripsThroughItsWireName) {
  std::set<std::string> names;
  for (int i = 0; i <= static_cast<int>(ErrorKind::unknown); ++i) {
    const auto kind = static_cast<ErrorKind>(i);
    const std::string name(to_string(kind));
    EXPECT_TRUE(names.insert(name).second) << "two kinds share the name " << name;
    ASSERT_EQ(parse_error_kind(name), kind) << name;
  }
  EXPECT_EQ(names.size(), 15u);
}

TEST(ErrorKind, NamesFixedByTheWireFormatAreKept) {
  // Rows and dashboards of earlier versions hold these strings.
  EXPECT_EQ(to_string(ErrorKind::no_endpoint), "no_endpoint");
  EXPECT_EQ(to_string(ErrorKind::redirect_refused), "redirect_refused");
  EXPECT_EQ(to_string(ErrorKind::bad_message), "bad_message");
  EXPECT_EQ(to_string(ErrorKind::oversized), "oversized");
}

TEST(ErrorKind, UnknownTextIsNotAKind) {
  EXPECT_FALSE(parse_error_kind("").has_value());
  EXPECT_FALSE(parse_error_kind("Timeout").has_value());
  EXPECT_FALSE(parse_error_kind("budget").has_value());
}

}  // namespace
}  // namespace beacon

#include <beacon/db/timestamps.hpp>

#include <gtest/gtest.h>

namespace beacon::db {
namespace {

TEST(ParseRfc3339, UtcWithAndWithoutFraction) {
  EXPECT_EQ(parse_rfc3339_us("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(parse_rfc3339_us("1970-01-01T00:00:01.5Z"), 1'500'000);
  EXPECT_EQ(parse_rfc3339_us("2026-11-23T10:00:00.123Z"), 1'795'428'000'123'000);
  EXPECT_EQ(parse_rfc3339_us("2026-11-23t10:00:00.123z"), 1'795'428'000'123'000);
  EXPECT_EQ(parse_rfc3339_us("2026-11-23 10:00:00.123Z"), 1'795'428'000'123'000);
}

TEST(ParseRfc3339, FractionIsTruncatedToMicroseconds) {
  EXPECT_EQ(parse_rfc3339_us("1970-01-01T00:00:00.123456789Z"), 123'456);
  EXPECT_EQ(parse_rfc3339_us("1970-01-01T00:00:00.1Z"), 100'000);
}

TEST(ParseRfc3339, Offsets) {
  EXPECT_EQ(parse_rfc3339_us("1970-01-01T02:00:00+02:00"), 0);
  EXPECT_EQ(parse_rfc3339_us("1969-12-31T19:30:00-04:30"), 0);
}

TEST(ParseRfc3339, BeforeTheEpochAndLeapDays) {
  EXPECT_EQ(parse_rfc3339_us("1969-12-31T23:59:59Z"), -1'000'000);
  EXPECT_TRUE(parse_rfc3339_us("2024-02-29T00:00:00Z"));
  EXPECT_TRUE(parse_rfc3339_us("2000-02-29T00:00:00Z"));
  EXPECT_FALSE(parse_rfc3339_us("1900-02-29T00:00:00Z"));
  EXPECT_FALSE(parse_rfc3339_us("2023-02-29T00:00:00Z"));
}

TEST(ParseRfc3339, RejectsWhatPostgresWouldChokeOn) {
  for (const char* bad : {"", "now", "2026-11-23", "2026-11-23T10:00:00", "2026-11-23T10:00:00+0200",
                          "2026-13-01T00:00:00Z", "2026-04-31T00:00:00Z", "2026-11-23T24:00:00Z",
                          "2026-11-23T10:60:00Z", "2026-11-23T10:00:61Z", "2026-11-23T10:00:00.Z",
                          "2026-11-23T10:00:00Zjunk", "0000-01-01T00:00:00Z", "2026-1-23T10:00:00Z",
                          "2026-11-23T10:00:00+24:00", "+2026-11-23T10:00:00Z"})
    EXPECT_FALSE(parse_rfc3339_us(bad)) << bad;
}

}  // namespace
}  // namespace beacon::db

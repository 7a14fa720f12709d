// ISO-8601 parsing and formatting as the coordination files write them.
#include "dslmodel/time.h"

#include <gtest/gtest.h>

#include <chrono>
#include <limits>
#include <string>

namespace dslmodel {
namespace {

using std::chrono::hours;
using std::chrono::microseconds;
using std::chrono::minutes;
using std::chrono::seconds;
using std::chrono::sys_days;
using namespace std::chrono_literals;

TimePoint utc(int y, unsigned mo, unsigned d, int h = 0, int mi = 0, int s = 0, int us = 0) {
  const auto ymd = std::chrono::year{y} / std::chrono::month{mo} / std::chrono::day{d};
  return TimePoint(sys_days{ymd} + hours{h} + minutes{mi} + seconds{s} + microseconds{us});
}

struct ParseCase {
  std::string text;
  TimePoint expected;
};

class ParseValidTest : public ::testing::TestWithParam<ParseCase> {};

TEST_P(ParseValidTest, ParsesToUtc) {
  const auto got = parse_iso8601(GetParam().text);
  ASSERT_TRUE(got.has_value()) << GetParam().text;
  EXPECT_EQ(*got, GetParam().expected) << GetParam().text;
}

INSTANTIATE_TEST_SUITE_P(
    Formats, ParseValidTest,
    ::testing::Values(
        ParseCase{"2025-06-27T15:41:04.944999", utc(2025, 6, 27, 15, 41, 4, 944999)},
        ParseCase{"2025-06-27T15:41:04.945593", utc(2025, 6, 27, 15, 41, 4, 945593)},
        ParseCase{"2025-06-27T15:41:04Z", utc(2025, 6, 27, 15, 41, 4)},
        ParseCase{"2025-06-27t15:41:04z", utc(2025, 6, 27, 15, 41, 4)},
        ParseCase{"2025-06-27 15:41:04+02:00", utc(2025, 6, 27, 13, 41, 4)},
        ParseCase{"2025-06-27T15:41:04-05:30", utc(2025, 6, 27, 21, 11, 4)},
        ParseCase{"2025-06-27T15:41:04+0200", utc(2025, 6, 27, 13, 41, 4)},
        ParseCase{"2025-06-27T15:41:04+02", utc(2025, 6, 27, 13, 41, 4)},
        ParseCase{"2025-06-27T00:30:00+01:00", utc(2025, 6, 26, 23, 30, 0)},
        ParseCase{"2025-06-27T15:41:04.944999+00:00", utc(2025, 6, 27, 15, 41, 4, 944999)},
        ParseCase{"2025-06-27T15:41:04.5Z", utc(2025, 6, 27, 15, 41, 4, 500000)},
        ParseCase{"2025-06-27T15:41:04,25", utc(2025, 6, 27, 15, 41, 4, 250000)},
        ParseCase{"2025-06-27T15:41:04.123456789Z", utc(2025, 6, 27, 15, 41, 4, 123456)},
        ParseCase{"2025-06-27T15:41", utc(2025, 6, 27, 15, 41)},
        ParseCase{"2025-06-27", utc(2025, 6, 27)},
        ParseCase{"2024-02-29T23:59:59Z", utc(2024, 2, 29, 23, 59, 59)},
        ParseCase{"1970-01-01T00:00:00Z", TimePoint{}}));

class ParseInvalidTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ParseInvalidTest, Rejected) { EXPECT_FALSE(parse_iso8601(GetParam()).has_value()); }

INSTANTIATE_TEST_SUITE_P(Junk, ParseInvalidTest,
                         ::testing::Values("", "hello", "now", "2025", "2025-06", "2025-6-27",
                                           "25-06-27", "2025/06/27", "2025-13-01", "2025-00-10",
                                           "2025-02-29", "2025-06-31", "2025-06-27T",
                                           "2025-06-27T15", "2025-06-27T25:00:00",
                                           "2025-06-27T15:61:00", "2025-06-27T15:41:04.",
                                           "2025-06-27T15:41:04Zjunk", "2025-06-27T15:41:04+",
                                           "2025-06-27T15:41:04+02:", "2025-06-27T15:41:04+2",
                                           "2025-06-27T15:41:04+24:00", "2025-06-27T15:41:04 ",
                                           " 2025-06-27", "2025-06-27Z", "2025-06-27X15:41:04",
                                           "1750000000", "2025-06-27T15:41:04.94x"));

// Found by fuzzing: "created": "4050-06-27T15:41:04" overflowed the nanosecond clock.
INSTANTIATE_TEST_SUITE_P(BeyondTheClock, ParseInvalidTest,
                         ::testing::Values("4050-06-27T15:41:04.946187", "9999-12-31", "2262-06-01",
                                           "0001-01-01T00:00:00Z", "1677-01-01"));

TEST(ParseIso8601, YearsTheClockHoldsStillParse) {
  EXPECT_TRUE(parse_iso8601("2261-12-31T23:59:59-23:59").has_value());
  EXPECT_TRUE(parse_iso8601("1678-01-01T00:00:00+23:59").has_value());
}

TEST(FromUnixSeconds, OutOfRangeAndNanAreRefused) {
  EXPECT_EQ(from_unix_seconds(1.5), TimePoint(std::chrono::milliseconds(1500)));
  EXPECT_FALSE(from_unix_seconds(1e11).has_value());
  EXPECT_FALSE(from_unix_seconds(-1e11).has_value());
  EXPECT_FALSE(from_unix_seconds(std::numeric_limits<double>::quiet_NaN()).has_value());
  EXPECT_FALSE(from_unix_seconds(std::numeric_limits<double>::infinity()).has_value());
}

TEST(FormatIso8601, UtcWithMilliseconds) {
  EXPECT_EQ(format_iso8601(utc(2025, 6, 27, 15, 41, 4, 944999)), "2025-06-27T15:41:04.944Z");
  EXPECT_EQ(format_iso8601(TimePoint{}), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(format_iso8601(utc(2024, 12, 31, 23, 59, 59, 999999)), "2024-12-31T23:59:59.999Z");
}

TEST(FormatIso8601, RoundTripsAtMillisecondPrecision) {
  const TimePoint t = utc(2025, 1, 2, 3, 4, 5, 678000);
  const auto back = parse_iso8601(format_iso8601(t));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, t);
}

TEST(UnixMillis, CountsFromEpoch) {
  EXPECT_EQ(unix_millis(TimePoint{}), 0);
  EXPECT_EQ(unix_millis(utc(2025, 6, 27, 15, 41, 4, 944999)), 1751038864944);
  EXPECT_EQ(unix_millis(TimePoint{} + 1500ms), 1500);
}

}  // namespace
}  // namespace dslmodel

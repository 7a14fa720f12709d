// The ranges every setting shares (config/bounds.h, docs/configuration.md).
#include "config/bounds.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace dslmodel {
namespace {

TEST(Bounds, DescribeNamesTheRangeAndUnit) {
  EXPECT_EQ(describe(kMaxAgentsBounds), "an integer from 1 to 100000");
  EXPECT_EQ(describe(kSecondsBounds), "a whole number of seconds from 0 to 315360000");
  EXPECT_EQ(describe(kConfidenceBounds), "a number from 0 to 1");
  EXPECT_EQ(describe(kCountBounds), "an integer >= 0");
}

TEST(Bounds, ValuesOutsideTheRangeOrNotFiniteAreRefused) {
  EXPECT_TRUE(contains(kMaxAgentsBounds, 1));
  EXPECT_FALSE(contains(kMaxAgentsBounds, 0));
  EXPECT_FALSE(contains(kConfidenceBounds, std::nan("")));
  EXPECT_FALSE(contains(kConfidenceBounds, std::numeric_limits<double>::infinity()));
  EXPECT_EQ(check_int("20", kMaxAgentsBounds), "");
  EXPECT_EQ(check_int("4294967297", kMaxAgentsBounds),
            "expected an integer from 1 to 100000, got '4294967297'");
  EXPECT_EQ(check_real("0.5", kConfidenceBounds), "");
  EXPECT_NE(check_real("nan", kConfidenceBounds), "");
}

TEST(Bounds, ParsingTakesTheWholeText) {
  EXPECT_EQ(parse_int("42"), 42);
  EXPECT_FALSE(parse_int("42x").has_value());
  EXPECT_FALSE(parse_int("").has_value());
  EXPECT_FALSE(parse_int("99999999999999999999").has_value());
  EXPECT_EQ(parse_real("0.25"), 0.25);
  EXPECT_FALSE(parse_real("0.25 ").has_value());
}

}  // namespace
}  // namespace dslmodel

#include "core/utf8_tail.h"

#include <gtest/gtest.h>

#include <string>

namespace dslmodel {
namespace {

TEST(Utf8Tail, ShortTextIsKeptWhole) {
  EXPECT_EQ(utf8_tail("hello", 5), "hello");
  EXPECT_EQ(utf8_tail("hello", 100), "hello");
  EXPECT_EQ(utf8_tail("", 0), "");
}

TEST(Utf8Tail, KeepsTheLastBytes) {
  EXPECT_EQ(utf8_tail("hello world", 5), "world");
  EXPECT_EQ(utf8_tail("abc", 0), "");
}

TEST(Utf8Tail, StartsAtACharacterBoundary) {
  const std::string text = "a\xC3\xA9z";  // a, e-acute (2 bytes), z
  EXPECT_EQ(utf8_tail(text, 3), "\xC3\xA9z");
  EXPECT_EQ(utf8_tail(text, 2), "z");  // the cut fell inside the e-acute: it is dropped
  const std::string euro = "\xE2\x82\xAC\xE2\x82\xAC";  // two 3-byte characters
  EXPECT_EQ(utf8_tail(euro, 5), "\xE2\x82\xAC");
  EXPECT_EQ(utf8_tail(euro, 4), "\xE2\x82\xAC");
  EXPECT_EQ(utf8_tail(euro, 2), "");
}

TEST(Utf8Tail, OnlyContinuationBytesLeaveNothing) { EXPECT_EQ(utf8_tail("x\x80\x80\x80", 3), ""); }

}  // namespace
}  // namespace dslmodel

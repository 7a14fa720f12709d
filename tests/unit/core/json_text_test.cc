#include "core/json_text.h"

#include <gtest/gtest.h>

#include <string>

namespace dslmodel {
namespace {

std::string nested(std::size_t levels) {
  return std::string(levels, '[') + std::string(levels, ']');
}

TEST(JsonText, NestingDeeperThanTheLimitIsRejected) {
  EXPECT_TRUE(check_json_depth(nested(kMaxJsonDepth)).ok());
  Status too_deep = check_json_depth(nested(kMaxJsonDepth + 1));
  EXPECT_EQ(too_deep.code(), ErrorCode::kCorrupt);
  EXPECT_EQ(too_deep.message(), "nested deeper than 64 levels");
  // Brackets inside strings, escaped quotes included, are text.
  EXPECT_TRUE(
      check_json_depth(
          R"(["\"[[[[", "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["])")
          .ok());
  // 100,000 levels: refused before a tree is built, so nothing recurses.
  const std::string deep = nested(100000);
  EXPECT_EQ(parse_json(deep).status().message(), "nested deeper than 64 levels");
  EXPECT_TRUE(parse_json_or_discarded(deep).is_discarded());
  EXPECT_TRUE(parse_ordered_json_or_discarded("{\"a\":" + deep + "}").is_discarded());
  EXPECT_TRUE(parse_json(nested(kMaxJsonDepth)).ok());
}

TEST(JsonText, ParseErrorsNameTheReason) {
  Result<nlohmann::json> bad = parse_json("{\"a\": tru}");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message().rfind("invalid JSON: parse error at line 1", 0), 0u)
      << bad.status().message();
  EXPECT_FALSE(parse_json("[1e99999]").ok());
}

TEST(JsonText, DumpNeverThrowsOnInvalidUtf8) {
  nlohmann::json j = {{"id", "work_\xff\xfe"}, {"out", "ok\xc3"}};
  EXPECT_EQ(dump_json(j), "{\"id\":\"work_\xef\xbf\xbd\xef\xbf\xbd\",\"out\":\"ok\xef\xbf\xbd\"}");
  nlohmann::ordered_json o = {{"b", "\xff"}, {"a", 1}};
  EXPECT_EQ(dump_json(o, 1), "{\n \"b\": \"\xef\xbf\xbd\",\n \"a\": 1\n}");
}

TEST(JsonText, Utf8Rules) {
  EXPECT_TRUE(is_valid_utf8("h\xc3\xa9\xf0\x9f\x98\x80"));
  for (const char* bad : {"\xff", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe2\x82"}) {
    EXPECT_FALSE(is_valid_utf8(bad)) << bad;
  }
  EXPECT_EQ(valid_utf8("a\xff"
                       "b\xc3"),
            "a\xef\xbf\xbd"
            "b\xef\xbf\xbd");
  EXPECT_EQ(valid_utf8("ok"), "ok");
}

}  // namespace
}  // namespace dslmodel

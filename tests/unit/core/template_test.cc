#include "core/template.h"

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

namespace dslmodel {
namespace {

constexpr std::array<Placeholder, 2> kKnown = {Placeholder{"target", "4"},
                                               Placeholder{"dir", "/srv/coord"}};

TEST(ExpandPlaceholders, ReplacesEveryKnownName) {
  EXPECT_EQ(expand_placeholders("--replicas={target}", kKnown), "--replicas=4");
  EXPECT_EQ(expand_placeholders("{target}{target}", kKnown), "44");
  EXPECT_EQ(expand_placeholders("{dir}/x:{target}", kKnown), "/srv/coord/x:4");
  EXPECT_EQ(expand_placeholders("plain", kKnown), "plain");
  EXPECT_EQ(expand_placeholders("", kKnown), "");
}

TEST(ExpandPlaceholders, LeavesEveryOtherBraceAlone) {
  EXPECT_EQ(expand_placeholders(R"({"replicas": {target}})", kKnown), R"({"replicas": 4})");
  EXPECT_EQ(expand_placeholders("{}", kKnown), "{}");
  EXPECT_EQ(expand_placeholders("{ x }", kKnown), "{ x }");
  EXPECT_EQ(expand_placeholders("{other}", kKnown), "{other}");
  EXPECT_EQ(expand_placeholders("{{target}}", kKnown), "{4}");
  EXPECT_EQ(expand_placeholders("{target", kKnown), "{target");
  EXPECT_EQ(expand_placeholders("a}{b", kKnown), "a}{b");
}

TEST(ExpandPlaceholders, NeverRescansSubstitutedText) {
  constexpr std::array<Placeholder, 2> known = {Placeholder{"a", "{b}"}, Placeholder{"b", "B"}};
  EXPECT_EQ(expand_placeholders("{a}{b}", known), "{b}B");
}

TEST(ExpandPlaceholders, ReplacesALiteralTokenEverywhere) {
  constexpr std::array<Placeholder, 1> url = {Placeholder{"store_url", "etcd://h:1/p"}};
  EXPECT_EQ(expand_placeholders("--store={store_url},{store_url}", url),
            "--store=etcd://h:1/p,etcd://h:1/p");
  EXPECT_EQ(expand_placeholders("{agent_id}", url), "{agent_id}");
}

TEST(ExpandArgv, ExpandsEachArgument) {
  const std::vector<std::string> argv = {"x", "{dir}", "{target}-{nope}"};
  EXPECT_EQ(expand_argv(argv, kKnown), (std::vector<std::string>{"x", "/srv/coord", "4-{nope}"}));
}

TEST(UnknownPlaceholder, ReportsTheFirstUnknownIdentifier) {
  EXPECT_EQ(unknown_placeholder("--ns={foo}", kKnown), "foo");
  EXPECT_EQ(unknown_placeholder("{target}{a_1}{b}", kKnown), "a_1");
  EXPECT_EQ(unknown_placeholder("{{x}}", kKnown), "x");
}

TEST(UnknownPlaceholder, IgnoresWhatIsNoIdentifier) {
  EXPECT_EQ(unknown_placeholder("{target}", kKnown), std::nullopt);
  EXPECT_EQ(unknown_placeholder("{}", kKnown), std::nullopt);
  EXPECT_EQ(unknown_placeholder("{ x }", kKnown), std::nullopt);
  EXPECT_EQ(unknown_placeholder(R"({"a": 1})", kKnown), std::nullopt);
  EXPECT_EQ(unknown_placeholder("$(touch pwned);{x", kKnown), std::nullopt);
  EXPECT_EQ(unknown_placeholder("{target", kKnown), std::nullopt);
}

TEST(FindUnknownPlaceholder, NamesTheArgument) {
  const std::vector<std::string> argv = {"kubectl", "--replicas={target}", "--ns={foo}", "{bar}"};
  auto bad = find_unknown_placeholder(argv, kKnown);
  ASSERT_TRUE(bad.has_value());
  EXPECT_EQ(bad->arg, 2U);
  EXPECT_EQ(bad->name, "foo");
  EXPECT_FALSE(find_unknown_placeholder({"x", "{dir}"}, kKnown).has_value());
}

}  // namespace
}  // namespace dslmodel

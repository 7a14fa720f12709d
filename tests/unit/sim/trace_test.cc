// Workload traces: JSON lines, CSV, the Azure LLM trace, load_trace and the built-in traces.
#include "sim/trace.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

namespace dslmodel::sim {
namespace {

// Parses text that must be valid; fails the test otherwise.
Trace parse_ok(const std::string& text, const std::string& name = "t") {
  auto r = parse_trace(text, name);
  EXPECT_TRUE(r.ok()) << r.status().message() << "\n" << text;
  if (!r.ok()) return {};
  return std::move(r).value();
}

std::vector<std::string> ids(const Trace& t) {
  std::vector<std::string> out;
  for (const auto& item : t.items) out.push_back(item.id);
  return out;
}

std::size_t count_in(const Trace& t, double from, double to) {
  return static_cast<std::size_t>(std::count_if(t.items.begin(), t.items.end(), [&](const auto& i) {
    return i.at_s >= from && i.at_s < to;
  }));
}

bool same_items(const Trace& a, const Trace& b) {
  if (a.items.size() != b.items.size()) return false;
  for (std::size_t i = 0; i < a.items.size(); ++i) {
    const auto& x = a.items[i];
    const auto& y = b.items[i];
    if (x.at_s != y.at_s || x.duration_s != y.duration_s || x.priority != y.priority ||
        x.id != y.id) {
      return false;
    }
  }
  return true;
}

std::string write_temp(const std::string& file, const std::string& text) {
  const auto path = std::filesystem::path(::testing::TempDir()) / file;
  std::ofstream(path, std::ios::binary) << text;
  return path.string();
}

// ---------------------------------------------------------------------------------------------
// JSON lines.

TEST(TraceJsonTest, ParsesSecondsWithAllFields) {
  const Trace t = parse_ok(
      R"({"at": 0, "duration_s": 0.5, "priority": 3, "id": "a"}
{"at": 12.5, "duration_s": 2, "priority": -1, "id": "b", "tenant": "ignored"})",
      "mine");
  EXPECT_EQ(t.name, "mine");
  ASSERT_EQ(t.items.size(), 2u);
  EXPECT_DOUBLE_EQ(t.items[0].at_s, 0.0);
  EXPECT_DOUBLE_EQ(t.items[0].duration_s, 0.5);
  EXPECT_EQ(t.items[0].priority, 3);
  EXPECT_EQ(t.items[0].id, "a");
  EXPECT_DOUBLE_EQ(t.items[1].at_s, 12.5);
  EXPECT_DOUBLE_EQ(t.items[1].duration_s, 2.0);
  EXPECT_EQ(t.items[1].priority, -1);
  EXPECT_EQ(t.items[1].id, "b");
  EXPECT_TRUE(t.crashes.empty());
}

TEST(TraceJsonTest, ShiftsSecondsSoTheEarliestIsZero) {
  const Trace t =
      parse_ok("{\"at\": 102.5, \"duration_s\": 1}\n{\"at\": 100, \"duration_s\": 1}\n");
  ASSERT_EQ(t.items.size(), 2u);
  EXPECT_DOUBLE_EQ(t.items[0].at_s, 0.0);
  EXPECT_DOUBLE_EQ(t.items[1].at_s, 2.5);
}

TEST(TraceJsonTest, IsoTimesAreShiftedToZero) {
  const Trace t = parse_ok(
      R"({"at": "2023-11-16T18:17:05Z", "duration_s": 1, "id": "z"}
{"at": "2023-11-16 18:17:03.9799600", "duration_s": 1, "id": "space"}
{"at": "2023-11-16T19:17:03.97996+01:00", "duration_s": 1, "id": "offset"})");
  ASSERT_EQ(t.items.size(), 3u);
  EXPECT_EQ(ids(t), (std::vector<std::string>{"space", "offset", "z"}));
  EXPECT_DOUBLE_EQ(t.items[0].at_s, 0.0);
  EXPECT_DOUBLE_EQ(t.items[1].at_s, 0.0);
  EXPECT_NEAR(t.items[2].at_s, 1.02004, 1e-9);
}

TEST(TraceJsonTest, NumericStringAtIsSeconds) {
  const Trace t =
      parse_ok("{\"at\": \"3\", \"duration_s\": \"0.25\"}\n{\"at\": 5, \"duration_s\": 1}");
  ASSERT_EQ(t.items.size(), 2u);
  EXPECT_DOUBLE_EQ(t.items[0].duration_s, 0.25);
  EXPECT_DOUBLE_EQ(t.items[1].at_s, 2.0);
}

TEST(TraceJsonTest, SortsStablyAndNamesUnnamedItemsInArrivalOrder) {
  const Trace t = parse_ok(
      R"({"at": 5, "duration_s": 1, "priority": 1}
{"at": 1, "duration_s": 1, "priority": 2}
{"at": 5, "duration_s": 1, "priority": 3}
{"at": 0, "duration_s": 1, "priority": 4})");
  ASSERT_EQ(t.items.size(), 4u);
  std::vector<std::int64_t> priorities;
  for (const auto& i : t.items) priorities.push_back(i.priority);
  EXPECT_EQ(priorities, (std::vector<std::int64_t>{4, 2, 1, 3}));
  EXPECT_EQ(ids(t), (std::vector<std::string>{"i1", "i2", "i3", "i4"}));
}

TEST(TraceJsonTest, GeneratedIdsDoNotClashWithGivenIds) {
  const Trace t = parse_ok(
      R"({"at": 0, "duration_s": 1}
{"at": 5, "duration_s": 1, "id": "i1"}
{"at": 6, "duration_s": 1, "id": ""})");
  const auto got = ids(t);
  EXPECT_EQ(got[1], "i1");
  EXPECT_EQ(got[2], "i3");
  EXPECT_NE(got[0], "i1");
  EXPECT_EQ(std::set<std::string>(got.begin(), got.end()).size(), 3u);
}

TEST(TraceJsonTest, PriorityMayBeAnIntegerOrANumericString) {
  const Trace t = parse_ok(
      R"({"at": 0, "duration_s": 1, "priority": "7"}
{"at": 1, "duration_s": 1, "priority": " -2 "}
{"at": 2, "duration_s": 1, "priority": 4.0}
{"at": 3, "duration_s": 1, "priority": null}
{"at": 4, "duration_s": 1, "id": 42})");
  ASSERT_EQ(t.items.size(), 5u);
  EXPECT_EQ(t.items[0].priority, 7);
  EXPECT_EQ(t.items[1].priority, -2);
  EXPECT_EQ(t.items[2].priority, 4);
  EXPECT_EQ(t.items[3].priority, 0);
  EXPECT_EQ(t.items[4].id, "42");
}

TEST(TraceJsonTest, SkipsBlankAndCommentLinesAndToleratesCrlf) {
  const Trace t = parse_ok(
      "# a workload\r\n\r\n  \r\n{\"at\": 1, \"duration_s\": 1}\r\n# more\r\n"
      "{\"at\": 2, \"duration_s\": 1}\r\n");
  ASSERT_EQ(t.items.size(), 2u);
  EXPECT_DOUBLE_EQ(t.items[1].at_s, 1.0);
}

TEST(TraceJsonTest, CrashLinesAreSortedOnTheItemClock) {
  const Trace t = parse_ok(
      R"({"at": 10, "duration_s": 1}
{"at": 40, "crash": 2}
{"at": 20, "crash": "1"}
{"at": 11, "duration_s": 1})");
  ASSERT_EQ(t.items.size(), 2u);
  ASSERT_EQ(t.crashes.size(), 2u);
  EXPECT_DOUBLE_EQ(t.crashes[0].at_s, 10.0);
  EXPECT_EQ(t.crashes[0].agents, 1);
  EXPECT_DOUBLE_EQ(t.crashes[1].at_s, 30.0);
  EXPECT_EQ(t.crashes[1].agents, 2);
}

TEST(TraceJsonTest, ACrashBeforeTheFirstItemIsTheOrigin) {
  const Trace t = parse_ok(
      R"({"at": "2023-11-16T18:00:10Z", "duration_s": 1}
{"at": "2023-11-16T18:00:00Z", "crash": 3})");
  ASSERT_EQ(t.crashes.size(), 1u);
  EXPECT_DOUBLE_EQ(t.crashes[0].at_s, 0.0);
  EXPECT_EQ(t.crashes[0].agents, 3);
  EXPECT_DOUBLE_EQ(t.items[0].at_s, 10.0);
}

// ---------------------------------------------------------------------------------------------
// CSV.

TEST(TraceCsvTest, ColumnsInAnyOrderWithExtraColumns) {
  const Trace t = parse_ok("id,tenant,duration_s,priority,at\nb,acme,1.5,2,10\na,x,0.5,,4\n");
  ASSERT_EQ(t.items.size(), 2u);
  EXPECT_EQ(t.items[0].id, "a");
  EXPECT_DOUBLE_EQ(t.items[0].at_s, 0.0);
  EXPECT_DOUBLE_EQ(t.items[0].duration_s, 0.5);
  EXPECT_EQ(t.items[0].priority, 0);
  EXPECT_EQ(t.items[1].id, "b");
  EXPECT_DOUBLE_EQ(t.items[1].at_s, 6.0);
  EXPECT_DOUBLE_EQ(t.items[1].duration_s, 1.5);
  EXPECT_EQ(t.items[1].priority, 2);
}

TEST(TraceCsvTest, OnlyTheRequiredColumns) {
  const Trace t = parse_ok("at,duration_s\n0,1\n1,2\n");
  EXPECT_EQ(ids(t), (std::vector<std::string>{"i1", "i2"}));
}

TEST(TraceCsvTest, QuotedFieldsCaseInsensitiveHeaderCrlfAndBom) {
  const Trace t = parse_ok(
      "\xEF\xBB\xBF\"At\", \"Duration_S\" ,\"ID\"\r\n\"1\",\"0.5\",\"x\"\r\n 3 , 0.5 , y \r\n");
  ASSERT_EQ(t.items.size(), 2u);
  EXPECT_EQ(ids(t), (std::vector<std::string>{"x", "y"}));
  EXPECT_DOUBLE_EQ(t.items[1].at_s, 2.0);
}

TEST(TraceCsvTest, IsoTimes) {
  const Trace t = parse_ok(
      "at,duration_s\n2023-11-16T18:17:04Z,1\n2023-11-16 18:17:03.5,1\n"
      "# a comment row\n\n2023-11-16T18:18:03.5Z,1\n");
  ASSERT_EQ(t.items.size(), 3u);
  EXPECT_DOUBLE_EQ(t.items[0].at_s, 0.0);
  EXPECT_DOUBLE_EQ(t.items[1].at_s, 0.5);
  EXPECT_DOUBLE_EQ(t.items[2].at_s, 60.0);
}

// ---------------------------------------------------------------------------------------------
// The Azure LLM inference trace.

TEST(TraceAzureTest, ServiceSecondsModel) {
  EXPECT_DOUBLE_EQ(azure_service_seconds(0, 0), 0.2);
  EXPECT_DOUBLE_EQ(azure_service_seconds(1000, 0), 0.25);
  EXPECT_DOUBLE_EQ(azure_service_seconds(0, 10), 0.4);
  EXPECT_DOUBLE_EQ(azure_service_seconds(4808, 10), 0.6404);
}

TEST(TraceAzureTest, RowsBecomeItemsWithTheServiceTime) {
  const Trace t = parse_ok(
      "TIMESTAMP,ContextTokens,GeneratedTokens\r\n"
      "2023-11-16 18:17:04.0319600,3180,8\r\n"
      "2023-11-16 18:17:03.9799600,4808,10\r\n");
  ASSERT_EQ(t.items.size(), 2u);
  EXPECT_DOUBLE_EQ(t.items[0].at_s, 0.0);
  EXPECT_DOUBLE_EQ(t.items[0].duration_s, azure_service_seconds(4808, 10));
  EXPECT_NEAR(t.items[1].at_s, 0.052, 1e-9);
  EXPECT_DOUBLE_EQ(t.items[1].duration_s, azure_service_seconds(3180, 8));
  EXPECT_EQ(t.items[1].priority, 0);
  EXPECT_EQ(ids(t), (std::vector<std::string>{"i1", "i2"}));
}

TEST(TraceAzureTest, ColumnsInAnyOrder) {
  const Trace t = parse_ok("GeneratedTokens,TIMESTAMP,ContextTokens\n5,2023-11-16T00:00:00Z,0\n");
  ASSERT_EQ(t.items.size(), 1u);
  EXPECT_DOUBLE_EQ(t.items[0].duration_s, azure_service_seconds(0, 5));
}

TEST(TraceAzureTest, LoadsTheRecordedFile) {
  const auto r = load_trace(DSLMODEL_TESTDATA_DIR "/traces/azure-llm-code-2023.csv");
  ASSERT_TRUE(r.ok()) << r.status().message();
  const Trace& t = *r;
  EXPECT_EQ(t.name, "azure-llm-code-2023");
  // The file holds 8,819 data rows after its header (the last has no trailing newline).
  ASSERT_EQ(t.items.size(), 8819u);
  EXPECT_DOUBLE_EQ(t.items.front().at_s, 0.0);
  EXPECT_NEAR(t.items.back().at_s, 3435.948056, 1e-6);
  EXPECT_DOUBLE_EQ(t.items.front().duration_s, azure_service_seconds(4808, 10));
  EXPECT_DOUBLE_EQ(t.items.back().duration_s, azure_service_seconds(549, 173));
  EXPECT_TRUE(std::is_sorted(t.items.begin(), t.items.end(),
                             [](const auto& a, const auto& b) { return a.at_s < b.at_s; }));
  const auto got = ids(t);
  EXPECT_EQ(std::set<std::string>(got.begin(), got.end()).size(), t.items.size());
  EXPECT_EQ(got.front(), "i1");
  for (const auto& item : t.items) EXPECT_GE(item.duration_s, 0.2);
  EXPECT_TRUE(t.crashes.empty());
}

// ---------------------------------------------------------------------------------------------
// Errors: every one is kInvalidArgument and names the line.

struct ErrorCase {
  std::string label;
  std::string text;
  std::string message;  // a substring of the error message
};

class TraceErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(TraceErrorTest, RejectsNamingTheLine) {
  const auto r = parse_trace(GetParam().text, "bad");
  ASSERT_FALSE(r.ok()) << GetParam().text;
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find(GetParam().message), std::string::npos)
      << "message: " << r.status().message() << "\nexpected: " << GetParam().message;
}

const std::string kOk = "{\"at\": 0, \"duration_s\": 1}\n";
const std::string kAzure = "TIMESTAMP,ContextTokens,GeneratedTokens\n";

INSTANTIATE_TEST_SUITE_P(
    TraceErrors, TraceErrorTest,
    ::testing::Values(
        // JSON lines.
        ErrorCase{"JsonMissingDuration", kOk + "{\"at\": 2}", "line 2: missing duration_s"},
        ErrorCase{"JsonNullDuration", "{\"at\": 2, \"duration_s\": null}",
                  "line 1: missing duration_s"},
        ErrorCase{"JsonNegativeDuration", "{\"at\": 1, \"duration_s\": -1}",
                  "line 1: duration_s must be a positive number"},
        ErrorCase{"JsonZeroDuration", kOk + kOk + "{\"at\": 1, \"duration_s\": 0}",
                  "line 3: duration_s must be a positive number"},
        ErrorCase{"JsonInfiniteDuration", "{\"at\": 1, \"duration_s\": \"inf\"}",
                  "line 1: duration_s must be a positive number"},
        ErrorCase{"JsonNanDuration", "{\"at\": 1, \"duration_s\": \"nan\"}",
                  "line 1: duration_s must be a positive number"},
        ErrorCase{"JsonBoolDuration", "{\"at\": 1, \"duration_s\": true}",
                  "line 1: duration_s must be a positive number"},
        ErrorCase{"JsonMissingAt", kOk + "{\"duration_s\": 1}", "line 2: missing \"at\""},
        ErrorCase{"JsonBadAt", "{\"at\": \"yesterday\", \"duration_s\": 1}",
                  "line 1: \"at\" must be seconds or an ISO-8601 time"},
        ErrorCase{"JsonBadIsoDate", "{\"at\": \"2023-02-30T00:00:00Z\", \"duration_s\": 1}",
                  "line 1: \"at\" must be seconds or an ISO-8601 time"},
        ErrorCase{"JsonArrayAt", "{\"at\": [1], \"duration_s\": 1}",
                  "line 1: \"at\" must be seconds or an ISO-8601 time"},
        ErrorCase{"JsonDuplicateId",
                  "{\"at\": 0, \"duration_s\": 1, \"id\": \"a\"}\n" + kOk +
                      "{\"at\": 2, \"duration_s\": 1, \"id\": \"a\"}",
                  "line 3: duplicate id \"a\" (first on line 1)"},
        ErrorCase{"JsonInvalid", kOk + "{\"at\": 1,", "line 2: not valid JSON"},
        ErrorCase{"JsonArrayLine", "[1, 2]", "line 1: expected a JSON object"},
        ErrorCase{"JsonNumberLine", kOk + "42", "line 2: expected a JSON object"},
        ErrorCase{"JsonStringLine", kOk + "\"x\"", "line 2: expected a JSON object"},
        ErrorCase{"JsonBadPriority", "{\"at\": 1, \"duration_s\": 1, \"priority\": \"high\"}",
                  "line 1: priority must be an integer"},
        ErrorCase{"JsonFractionalPriority", "{\"at\": 1, \"duration_s\": 1, \"priority\": 1.5}",
                  "line 1: priority must be an integer"},
        ErrorCase{"JsonBadId", "{\"at\": 1, \"duration_s\": 1, \"id\": [1]}",
                  "line 1: id must be a string"},
        ErrorCase{"CrashZero", kOk + "{\"at\": 1, \"crash\": 0}",
                  "line 2: crash must be a positive integer"},
        ErrorCase{"CrashNegative", kOk + "{\"at\": 1, \"crash\": -2}",
                  "line 2: crash must be a positive integer"},
        ErrorCase{"CrashFraction", kOk + "{\"at\": 1, \"crash\": 1.5}",
                  "line 2: crash must be a positive integer"},
        ErrorCase{"CrashWord", kOk + "{\"at\": 1, \"crash\": \"two\"}",
                  "line 2: crash must be a positive integer"},
        ErrorCase{"CrashWithoutAt", kOk + "{\"crash\": 1}", "line 2: missing \"at\""},
        ErrorCase{"CrashWithDuration", kOk + "{\"at\": 1, \"crash\": 1, \"duration_s\": 1}",
                  "line 2: a crash line has no duration_s"},
        ErrorCase{"IsoThenSeconds",
                  "{\"at\": \"2023-11-16T18:17:03Z\", \"duration_s\": 1}\n"
                  "{\"at\": 5, \"duration_s\": 1}",
                  "line 2: \"at\" is seconds but line 1 gave an ISO-8601 time"},
        ErrorCase{"SecondsThenIsoCrash", kOk + "{\"at\": \"2023-11-16T18:17:03Z\", \"crash\": 1}",
                  "line 2: \"at\" is an ISO-8601 time but line 1 gave seconds"},
        ErrorCase{"LineNumbersCountSkippedLines", "# header\n\n" + kOk + "\r\n{\"at\": 1}",
                  "line 5: missing duration_s"},
        // CSV.
        ErrorCase{"CsvNoAtColumn", "duration_s,id\n0.5,a\n",
                  "line 1: the CSV header has no \"at\" column"},
        ErrorCase{"CsvNoDurationColumn", "# c\nat,id\n1,a\n",
                  "line 2: the CSV header has no \"duration_s\" column"},
        ErrorCase{"CsvNegativeDuration", "at,duration_s\n0,0.5\n1,-2\n",
                  "line 3: duration_s must be a positive number"},
        ErrorCase{"CsvInfiniteDuration", "at,duration_s\n0,inf\n",
                  "line 2: duration_s must be a positive number"},
        ErrorCase{"CsvWordDuration", "at,duration_s\n0,long\n",
                  "line 2: duration_s must be a positive number"},
        ErrorCase{"CsvEmptyDuration", "at,duration_s\n1,\n", "line 2: missing duration_s"},
        ErrorCase{"CsvShortRow", "at,duration_s\n1\n", "line 2: expected at least 2 fields, got 1"},
        ErrorCase{"CsvEmptyAt", "at,duration_s\n,1\n", "line 2: missing \"at\""},
        ErrorCase{"CsvBadAt", "at,duration_s\nsoon,0.5\n",
                  "line 2: \"at\" must be seconds or an ISO-8601 time"},
        ErrorCase{"CsvNanAt", "at,duration_s\nnan,0.5\n",
                  "line 2: \"at\" must be seconds or an ISO-8601 time"},
        ErrorCase{"CsvDuplicateIdCrlf", "at,duration_s,id\r\n0,1,a\r\n1,1,a\r\n",
                  "line 3: duplicate id \"a\" (first on line 2)"},
        ErrorCase{"CsvBadPriority", "at,duration_s,priority\n0,1,x\n",
                  "line 2: priority must be an integer"},
        ErrorCase{"CsvMixedClocks", "at,duration_s\n2023-11-16T18:17:03Z,1\n4,1\n",
                  "line 3: \"at\" is seconds but line 2 gave an ISO-8601 time"},
        // Azure.
        ErrorCase{"AzureNegativeContext", kAzure + "2023-11-16 18:17:03.9799600,-1,10\n",
                  "line 2: ContextTokens must be a non-negative integer"},
        ErrorCase{"AzureNegativeGenerated", kAzure + "2023-11-16 18:17:03.9799600,1,-10\n",
                  "line 2: GeneratedTokens must be a non-negative integer"},
        ErrorCase{"AzureWordTokens", kAzure + "2023-11-16 18:17:03.9799600,1,many\n",
                  "line 2: GeneratedTokens must be a non-negative integer"},
        ErrorCase{"AzureBadTimestamp", kAzure + "2023-11-16 18:17:03.9799600,1,1\nnow,1,1\n",
                  "line 3: \"TIMESTAMP\" must be seconds or an ISO-8601 time"},
        ErrorCase{"AzureShortRow", kAzure + "2023-11-16 18:17:03.9799600,1\n",
                  "line 2: expected at least 3 fields, got 2"},
        // No items at all.
        ErrorCase{"Empty", "", "has no items"},
        ErrorCase{"OnlyComments", "# nothing\n\n", "has no items"},
        ErrorCase{"OnlyCrashes", "{\"at\": 1, \"crash\": 1}", "has no items"},
        ErrorCase{"CsvHeaderOnly", "at,duration_s\r\n", "has no items"}),
    [](const ::testing::TestParamInfo<ErrorCase>& p) { return p.param.label; });

// ---------------------------------------------------------------------------------------------
// load_trace.

TEST(TraceLoadTest, MissingFileIsNotFound) {
  const std::string path = ::testing::TempDir() + "/no-such-trace.jsonl";
  const auto r = load_trace(path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(r.status().message(), "trace file not found: " + path);
}

TEST(TraceLoadTest, DirectoryIsAnIoError) {
  const auto r = load_trace(::testing::TempDir());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kIo);
}

TEST(TraceLoadTest, NameIsTheFileStem) {
  const auto path = write_temp("my-trace.jsonl", "{\"at\": 1, \"duration_s\": 2, \"id\": \"q\"}\n");
  const auto r = load_trace(path);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->name, "my-trace");
  ASSERT_EQ(r->items.size(), 1u);
  EXPECT_EQ(r->items[0].id, "q");
  EXPECT_DOUBLE_EQ(r->items[0].at_s, 0.0);
}

TEST(TraceLoadTest, ParseErrorsPassThrough) {
  const auto path = write_temp("broken.csv", "at,duration_s\r\n1,0\r\n");
  const auto r = load_trace(path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("line 2:"), std::string::npos) << r.status().message();
}

// ---------------------------------------------------------------------------------------------
// Built-in traces.

Trace builtin(const std::string& name, std::uint64_t seed = 1) {
  auto r = builtin_trace(name, seed);
  EXPECT_TRUE(r.ok()) << r.status().message();
  if (!r.ok()) return {};
  return std::move(r).value();
}

TEST(BuiltinTraceTest, Names) {
  EXPECT_EQ(builtin_trace_names(),
            (std::vector<std::string>{"burst", "steady", "spike", "ramp", "crash", "diurnal"}));
}

TEST(BuiltinTraceTest, UnknownNameListsTheNames) {
  const auto r = builtin_trace("tsunami");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
  const std::string m = r.status().message();
  EXPECT_NE(m.find("tsunami"), std::string::npos) << m;
  for (const auto& name : builtin_trace_names()) EXPECT_NE(m.find(name), std::string::npos) << m;
}

TEST(BuiltinTraceTest, Burst) {
  const Trace t = builtin("burst");
  ASSERT_EQ(t.items.size(), 120u);
  for (std::size_t i = 0; i < t.items.size(); ++i) {
    EXPECT_EQ(t.items[i].at_s, 0.0);
    EXPECT_EQ(t.items[i].duration_s, 0.5);
    EXPECT_EQ(t.items[i].priority, 0);
    EXPECT_EQ(t.items[i].id, "i" + std::to_string(i + 1));
  }
  EXPECT_TRUE(t.crashes.empty());
}

TEST(BuiltinTraceTest, CrashIsTheBurstWithTwoAgentsKilledAtFiveSeconds) {
  const Trace t = builtin("crash");
  EXPECT_EQ(t.name, "crash");
  EXPECT_TRUE(same_items(t, builtin("burst")));
  ASSERT_EQ(t.crashes.size(), 1u);
  EXPECT_EQ(t.crashes[0].at_s, 5.0);
  EXPECT_EQ(t.crashes[0].agents, 2);
}

TEST(BuiltinTraceTest, Spike) {
  const Trace t = builtin("spike");
  ASSERT_EQ(t.items.size(), 140u);
  EXPECT_EQ(count_in(t, 20.0, 21.0), 81u);
  for (int s = 0; s < 60; ++s) {
    if (s != 20) {
      EXPECT_EQ(count_in(t, s, s + 1), 1u) << s;
    }
  }
  EXPECT_EQ(t.items.back().at_s, 59.5);
  for (const auto& item : t.items) {
    EXPECT_EQ(item.duration_s, 0.5);
    // On the half second (the swarm is at rest at 0), the spike at 20 s; not random.
    EXPECT_TRUE(item.at_s == 20.0 || item.at_s - static_cast<int>(item.at_s) == 0.5) << item.at_s;
  }
}

TEST(BuiltinTraceTest, SteadyMeanRateIsNearOnePerSecond) {
  for (std::uint64_t seed = 1; seed <= 5; ++seed) {
    const Trace t = builtin("steady", seed);
    EXPECT_LT(t.items.back().at_s, 600.0);
    EXPECT_GT(t.items.back().at_s, 590.0);
    const double rate = static_cast<double>(t.items.size()) / 600.0;
    EXPECT_NEAR(rate, 1.0, 0.15) << "seed " << seed;
    for (const auto& item : t.items) EXPECT_EQ(item.duration_s, 0.5);
  }
}

TEST(BuiltinTraceTest, RampRisesFromAFifthToTwelvePerSecond) {
  const Trace t = builtin("ramp");
  const double first = static_cast<double>(count_in(t, 0, 60)) / 60;    // ~0.8/s expected
  const double last = static_cast<double>(count_in(t, 540, 600)) / 60;  // ~11.4/s expected
  EXPECT_LT(first, 2.0);
  EXPECT_GT(last, 9.0);
  EXPECT_GT(last, 5 * first);
  EXPECT_NEAR(static_cast<double>(t.items.size()), 3660.0, 250.0);
  EXPECT_LT(t.items.back().at_s, 600.0);
  for (const auto& item : t.items) EXPECT_EQ(item.duration_s, 0.5);
}

TEST(BuiltinTraceTest, DiurnalPeaksTwiceInAnHour) {
  const Trace t = builtin("diurnal");
  EXPECT_LT(t.items.back().at_s, 3600.0);
  EXPECT_NEAR(static_cast<double>(t.items.size()), 3.1 * 3600, 500.0);
  // Five-minute windows around the two peaks (15 and 45 min) and the troughs (0, 30, 60 min).
  const auto peak1 = count_in(t, 750, 1050);
  const auto peak2 = count_in(t, 2550, 2850);
  const auto trough0 = count_in(t, 0, 150) + count_in(t, 3450, 3600);
  const auto trough1 = count_in(t, 1650, 1950);
  EXPECT_GT(peak1, 1500u);  // ~5.8/s
  EXPECT_GT(peak2, 1500u);
  EXPECT_GT(peak1, 5 * trough0);
  EXPECT_GT(peak1, 5 * trough1);
  EXPECT_GT(peak2, 5 * trough1);
  double sum = 0;
  for (const auto& item : t.items) {
    EXPECT_GE(item.duration_s, 0.25);
    EXPECT_LT(item.duration_s, 0.75);
    sum += item.duration_s;
  }
  EXPECT_NEAR(sum / static_cast<double>(t.items.size()), 0.5, 0.02);
  const auto [lo, hi] =
      std::minmax_element(t.items.begin(), t.items.end(),
                          [](const auto& a, const auto& b) { return a.duration_s < b.duration_s; });
  EXPECT_LT(lo->duration_s, 0.3);  // the jitter spans the range
  EXPECT_GT(hi->duration_s, 0.7);
}

std::string ParamName(const ::testing::TestParamInfo<std::string>& p) { return p.param; }

class BuiltinEveryTraceTest : public ::testing::TestWithParam<std::string> {};

TEST_P(BuiltinEveryTraceTest, KeepsTheTraceInvariants) {
  const Trace t = builtin(GetParam(), 7);
  EXPECT_EQ(t.name, GetParam());
  ASSERT_FALSE(t.items.empty());
  EXPECT_GE(t.items.front().at_s, 0.0);
  EXPECT_LT(t.items.front().at_s, 5.0);
  for (std::size_t i = 0; i < t.items.size(); ++i) {
    const auto& item = t.items[i];
    if (i > 0) {
      EXPECT_GE(item.at_s, t.items[i - 1].at_s);
    }
    EXPECT_GT(item.duration_s, 0.0);
    EXPECT_EQ(item.id, "i" + std::to_string(i + 1));
  }
  EXPECT_TRUE(std::is_sorted(t.crashes.begin(), t.crashes.end(),
                             [](const auto& a, const auto& b) { return a.at_s < b.at_s; }));
}

TEST_P(BuiltinEveryTraceTest, SameSeedSameTrace) {
  EXPECT_TRUE(same_items(builtin(GetParam(), 42), builtin(GetParam(), 42)));
}

INSTANTIATE_TEST_SUITE_P(BuiltinAll, BuiltinEveryTraceTest,
                         ::testing::ValuesIn(builtin_trace_names()), ParamName);

class BuiltinRandomTraceTest : public ::testing::TestWithParam<std::string> {};

TEST_P(BuiltinRandomTraceTest, DifferentSeedDifferentTrace) {
  EXPECT_FALSE(same_items(builtin(GetParam(), 1), builtin(GetParam(), 2)));
}

INSTANTIATE_TEST_SUITE_P(BuiltinRandom, BuiltinRandomTraceTest,
                         ::testing::Values("steady", "ramp", "diurnal"), ParamName);

class BuiltinFixedTraceTest : public ::testing::TestWithParam<std::string> {};

TEST_P(BuiltinFixedTraceTest, SeedDoesNotMatter) {
  EXPECT_TRUE(same_items(builtin(GetParam(), 1), builtin(GetParam(), 2)));
}

INSTANTIATE_TEST_SUITE_P(BuiltinFixed, BuiltinFixedTraceTest,
                         ::testing::Values("burst", "spike", "crash"), ParamName);

}  // namespace
}  // namespace dslmodel::sim

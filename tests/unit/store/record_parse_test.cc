#include "store/record_parse.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "dslmodel/time.h"
#include "store/json_scan.h"

namespace dslmodel::store {
namespace {

TEST(KindOfFile, ExactPrefixAndSuffix) {
  EXPECT_EQ(kind_of_file("agent_1.json"), RecordKind::kAgent);
  EXPECT_EQ(kind_of_file("work_x.json"), RecordKind::kWork);
  EXPECT_EQ(kind_of_file("completed_0.json"), RecordKind::kCompleted);
  EXPECT_EQ(kind_of_file("telemetry_9.json"), RecordKind::kTelemetry);
  for (const char* other : {"Agent_1.json", "agent_1.JSON", "dead_1.json", "agent_1.json.tmp",
                            "agent1.json", "work_1.txt", "archive", ".work_1.json.tmp.1.2"}) {
    EXPECT_FALSE(kind_of_file(other).has_value()) << other;
  }
  EXPECT_EQ(id_from_file_name("work_7.json"), "7");
  EXPECT_EQ(id_from_file_name("completed_a_b.json"), "a_b");
}

TEST(ParseAgent, FixtureStyleRecord) {
  auto r = parse_agent("agent_0.json",
                       R"({"id": "agent_0", "status": "Active", "model": "x", "created": "2025"})");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->id, "agent_0");
  EXPECT_EQ(r->file, "agent_0.json");
  EXPECT_EQ(r->status, "active");
  EXPECT_FALSE(r->heartbeat.has_value());
  EXPECT_FALSE(r->heartbeat_invalid);
}

TEST(ParseAgent, DefaultsAndHeartbeats) {
  auto r = parse_agent("agent_7.json", R"({"last_heartbeat": "2025-06-27T15:41:04Z", "pid": 42,
                                          "host": "h", "current_work": null})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->id, "7");
  EXPECT_EQ(r->status, "");
  EXPECT_EQ(r->heartbeat, parse_iso8601("2025-06-27T15:41:04Z"));
  EXPECT_EQ(r->pid, 42);
  EXPECT_EQ(r->host, "h");

  auto unix_secs = parse_agent("agent_1.json", R"({"heartbeat": 1751038864})");
  ASSERT_TRUE(unix_secs.ok());
  EXPECT_EQ(unix_secs->heartbeat, parse_iso8601("2025-06-27T15:41:04Z"));

  auto bad = parse_agent("agent_1.json", R"({"heartbeat": "yesterday"})");
  ASSERT_TRUE(bad.ok());
  EXPECT_TRUE(bad->heartbeat_invalid);
  EXPECT_FALSE(bad->heartbeat.has_value());
}

TEST(ParseAgent, WrongTypesRejectTheFile) {
  struct Case {
    const char* json;
    const char* reason;
  };
  for (const Case& c : std::vector<Case>{
           {R"({"status": 5})", R"(field "status" is not a string)"},
           {R"({"pid": "12"})", R"(field "pid" is not an integer)"},
           {R"({"pid": 1.5})", R"(field "pid" is not an integer)"},
           {R"({"heartbeat": true})", R"(field "heartbeat" is not a string)"},
           {R"({"host": ["a"]})", R"(field "host" is not a string)"},
       }) {
    auto r = parse_agent("agent_1.json", c.json);
    ASSERT_FALSE(r.ok()) << c.json;
    EXPECT_EQ(r.status().code(), ErrorCode::kCorrupt);
    EXPECT_EQ(r.status().message(), c.reason) << c.json;
  }
}

TEST(ParseAny, StructuralRejections) {
  struct Case {
    std::string bytes;
    const char* reason;
  };
  for (const Case& c : std::vector<Case>{
           {"", "empty file"},
           {"   ", "invalid JSON"},
           {R"({"id": "a", "status": "act)", "invalid JSON"},
           {R"({"id": "a",})", "invalid JSON"},
           {"{\"status\": \"\xff\xfe\"}", "invalid JSON"},
           {"{\"status\": \"\xc0\xaf\"}", "invalid JSON"},
           {"{\"status\": \"\xed\xa0\x80\"}", "invalid JSON"},
           {"{\"status\": \"a\x01\"}", "invalid JSON"},
           {R"({"a": 1} {"b": 2})", "invalid JSON"},
           {R"([{"status": "active"}])", "not a JSON object"},
           {"42", "not a JSON object"},
           {R"("text")", "not a JSON object"},
           {"null", "not a JSON object"},
       }) {
    auto r = parse_work("work_1.json", c.bytes);
    ASSERT_FALSE(r.ok()) << c.bytes;
    EXPECT_EQ(r.status().message(), c.reason) << c.bytes;
  }
}

TEST(ParseAny, AcceptsValidUnicodeAndEscapes) {
  auto r = parse_agent(
      "agent_1.json",
      "\xEF\xBB\xBF{\"host\": \"h\\u00e9\\ud83d\\ude00\xc3\xa9\", \"x\": {\"status\": 5}}");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->host, "h\xc3\xa9\xf0\x9f\x98\x80\xc3\xa9");
  EXPECT_EQ(r->status, "");  // nested "status" is not the record's
}

TEST(ParseWork, Fields) {
  auto r = parse_work("work_3.json", R"({"id": "w3", "status": "CLAIMED", "priority": 7.9,
      "created": "2025-06-27T15:41:04", "claimed_by": "agent_1", "claimed_at": "2025-06-27",
      "lease_expires": "soon", "attempts": 2, "max_attempts": 5, "command": ["true"]})");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->id, "w3");
  EXPECT_EQ(r->status, "claimed");
  EXPECT_EQ(r->priority, 7);
  EXPECT_TRUE(r->created.has_value());
  EXPECT_EQ(r->claimed_by, "agent_1");
  EXPECT_TRUE(r->claimed_at.has_value());
  EXPECT_FALSE(r->lease_expires.has_value());
  EXPECT_EQ(r->attempts, 2);
  EXPECT_EQ(r->max_attempts, 5);

  auto unclaimed = parse_work("work_4.json", R"({"claimed_by": null})");
  ASSERT_TRUE(unclaimed.ok());
  EXPECT_EQ(unclaimed->claimed_by, "");
  EXPECT_EQ(unclaimed->attempts, 0);
  EXPECT_FALSE(unclaimed->max_attempts.has_value());

  auto bad = parse_work("work_5.json", R"({"priority": "high"})");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), R"(field "priority" is not a number)");
  EXPECT_EQ(parse_work("work_5.json", R"({"claimed_by": 3})").status().message(),
            R"(field "claimed_by" is not a string)");
}

TEST(ParseCompleted, Retryable) {
  struct Case {
    const char* json;
    bool retryable;
  };
  for (const Case& c : std::vector<Case>{
           {R"({"status": "failed", "command": ["x"], "attempts": 1, "max_attempts": 3})", true},
           {R"({"status": "ERROR", "prompt": "p", "attempts": 0, "max_attempts": 1})", true},
           {R"({"status": "failed", "command": ["x"], "attempts": 3, "max_attempts": 3})", false},
           {R"({"status": "failed", "command": ["x"], "attempts": 1})", false},
           {R"({"status": "failed", "command": "x", "attempts": 1, "max_attempts": 3})", false},
           {R"({"status": "failed", "attempts": 1, "max_attempts": 3})", false},
           {R"({"status": "completed", "prompt": "p", "attempts": 1, "max_attempts": 3})", false},
           {R"({"status": "failed", "prompt": "p", "attempts": "1", "max_attempts": 3})", false},
       }) {
    auto r = parse_completed("completed_1.json", c.json);
    ASSERT_TRUE(r.ok()) << c.json;
    EXPECT_EQ(r->retryable, c.retryable) << c.json;
  }
  auto r = parse_completed("completed_2.json", R"({"finished": "2025-06-27T15:41:04.946694"})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->id, "2");
  EXPECT_TRUE(r->finished.has_value());
}

TEST(ParseCompleted, TimingsForTheCapacityModel) {
  auto r = parse_completed("completed_3.json",
                           R"({"status": "completed", "duration_ms": 512,
                               "created": "2025-06-27T15:00:00Z",
                               "claimed_at": "2025-06-27T15:00:02Z",
                               "finished": "2025-06-27T15:00:03Z"})");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->duration, std::chrono::milliseconds(512));
  EXPECT_EQ(r->created, parse_iso8601("2025-06-27T15:00:00Z"));
  EXPECT_EQ(r->claimed_at, parse_iso8601("2025-06-27T15:00:02Z"));
  // Wrong-typed or negative timings are left out; the record still counts.
  auto bad = parse_completed("completed_4.json",
                             R"({"status": "completed", "duration_ms": "fast", "created": [1],
                                 "claimed_at": {}})");
  ASSERT_TRUE(bad.ok()) << bad.status().message();
  EXPECT_FALSE(bad->duration.has_value());
  EXPECT_FALSE(bad->created.has_value());
  EXPECT_FALSE(bad->claimed_at.has_value());
  auto negative = parse_completed("completed_5.json", R"({"duration_ms": -5})");
  ASSERT_TRUE(negative.ok());
  EXPECT_FALSE(negative->duration.has_value());
}

TEST(ParseAgent, StartTime) {
  auto r = parse_agent("agent_1.json",
                       R"({"id": "1", "created": "2025-06-27T15:00:00Z", "heartbeat": 1})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->created, parse_iso8601("2025-06-27T15:00:00Z"));
  auto bad = parse_agent("agent_2.json", R"({"id": "2", "created": false})");
  ASSERT_TRUE(bad.ok()) << "a bad start time is ignored, not fatal";
  EXPECT_FALSE(bad->created.has_value());
}

TEST(CompletedOutcome, Classes) {
  for (const char* s : {"", "completed", "success", "succeeded", "done"}) {
    EXPECT_EQ(completed_outcome(s), Outcome::kSucceeded) << s;
  }
  EXPECT_EQ(completed_outcome("failed"), Outcome::kFailed);
  EXPECT_EQ(completed_outcome("error"), Outcome::kFailed);
  EXPECT_EQ(completed_outcome("cancelled"), Outcome::kOther);
}

TEST(ParseTelemetry, PlainRecordCountsOne) {
  auto r = parse_telemetry("telemetry_0.json",
                           R"({"id": "t0", "timestamp": "2025-06-27T15:41:04.947210",
                               "metrics": {"response_time": 800}})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->count, 1);
  EXPECT_TRUE(r->timestamp.has_value());
}

TEST(ParseTelemetry, OtlpExportCountsSpans) {
  const char* otlp = R"({"resourceSpans": [
      {"scopeSpans": [{"spans": [{"name": "a", "startTimeUnixNano": "1751038864000000000"},
                                 {"name": "b"}]},
                      {"spans": [{"name": "c"}]}]},
      {"instrumentationLibrarySpans": [{"spans": [{"name": "d"}]}]},
      {"scopeSpans": []}]})";
  auto r = parse_telemetry("telemetry_1.json", otlp);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->count, 4);
  EXPECT_EQ(r->timestamp, parse_iso8601("2025-06-27T15:41:04Z"));
  auto empty = parse_telemetry("telemetry_2.json", R"({"resourceSpans": []})");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->count, 0);
}

// The scanner must accept exactly what nlohmann::json::parse accepts.
void expect_same_verdict(const std::string& bytes) {
  nlohmann::json doc = nlohmann::json::parse(bytes, nullptr, false);
  detail::ScanResult expected = doc.is_discarded() ? detail::ScanResult::kInvalid
                                : doc.is_object()  ? detail::ScanResult::kObject
                                                   : detail::ScanResult::kNotObject;
  std::string_view key = "status";
  detail::Field field;
  detail::ScanResult got = detail::scan_top_level(bytes, &key, 1, &field);
  ASSERT_EQ(got, expected) << "input: "
                           << nlohmann::json(bytes).dump(-1, ' ', true,
                                                         nlohmann::json::error_handler_t::replace);
  if (got == detail::ScanResult::kObject && doc.contains("status") && doc["status"].is_string()) {
    EXPECT_EQ(field.s, doc["status"].get<std::string>());
  }
}

TEST(JsonScan, AgreesWithNlohmannOnEdgeCases) {
  for (const char* s : {"{}",
                        "[]",
                        " {} ",
                        "{\"a\":[1,2,{\"b\":[]}],\"status\":\"x\\\"y\"}",
                        "{\"a\":01}",
                        "{\"a\":-}",
                        "{\"a\":1.}",
                        "{\"a\":.5}",
                        "{\"a\":1e}",
                        "{\"a\":1E+5}",
                        "{\"a\":-0.0e-0}",
                        "{\"a\":tru}",
                        "{\"a\":nul}",
                        "{\"a\":true,}",
                        "[1,]",
                        "{,}",
                        "{\"a\" 1}",
                        "{\"a\":1",
                        "{\"a\":\"\\x\"}",
                        "{\"a\":\"\\u12\"}",
                        "{\"a\":\"\\udc00\"}",
                        "{\"a\":\"\\ud800\"}",
                        "{\"a\":\"\\ud800\\u0041\"}",
                        "{\"status\":\"\\u0000\"}",
                        "{\"a\":1}\n",
                        "{\"a\":1}x",
                        "\xEF\xBB\xBF{}",
                        "\xEF\xBB{}",
                        "{\"a\":\"\xf4\x90\x80\x80\"}",
                        "{\"a\":\"\xf0\x90\x80\x80\"}",
                        "{\"a\":\"\xe0\x80\x80\"}",
                        "{\"a\":\"\xc2\"}",
                        "{\"a\":18446744073709551616}",
                        "{\"a\":-9223372036854775809}",
                        "{\"a\":1e999}",
                        "[1e-999]",
                        "[-1e400]",
                        "[0.0000000000000000000000000000001e-320]",
                        "[[[[[[]]]]]]",
                        "[[[[[[]]]]]",
                        "{\"a\":{\"b\":{\"c\":{}}}}",
                        "{\"a\":{\"b\":{\"c\":{}}}",
                        "\t\r\n{}\t",
                        "{}\v"}) {
    expect_same_verdict(s);
  }
}

TEST(JsonScan, AgreesWithNlohmannOnMutations) {
  const std::string seed =
      R"({"id": "work_1", "status": "Cla\u00efmed", "n": [1, -2.5e3, true, null, {"x": "\u00e9"}],)"
      "\"s\": \"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"}";
  const std::string alphabet = "{}[]\":,\\u0e-+.tfn \x80\xbf\xc3\xe2\xf0\xff";
  std::mt19937 rng(12345);
  for (int n = 0; n < 20000; ++n) {
    std::string s = seed;
    int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits; ++e) {
      std::size_t at = rng() % (s.size() + 1);
      char c = alphabet[rng() % alphabet.size()];
      switch (rng() % 4) {
        case 0:
          s.insert(s.begin() + static_cast<long>(at), c);
          break;
        case 1:
          if (at < s.size()) s[at] = c;
          break;
        case 2:
          if (at < s.size()) s.erase(at, 1);
          break;
        default:
          s.resize(at);
          break;
      }
    }
    expect_same_verdict(s);
    if (HasFatalFailure()) return;
  }
}

}  // namespace
}  // namespace dslmodel::store

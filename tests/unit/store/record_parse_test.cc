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

TEST(RecordParse, OnlyAnUnusableIdOrStatusRejectsTheFile) {
  EXPECT_EQ(parse_agent("agent_1.json", R"({"status": 5})").status().message(),
            R"(field "status" is not a string)");
  EXPECT_EQ(parse_work("work_1.json", R"({"id": {"a": 1}})").status().message(),
            R"(field "id" is not a string)");
  EXPECT_EQ(parse_completed("completed_1.json", R"({"status": [1]})").status().message(),
            R"(field "status" is not a string)");
}

TEST(RecordParse, WrongTypedFieldsAreWarnedAndKept) {
  struct Case {
    const char* json;
    const char* warning;
  };
  for (
      const Case& c : std::vector<Case>{
          {R"({"pid": "twelve"})", R"(field "pid" is not an integer: "twelve", ignored)"},
          {R"({"pid": 1.5})", R"(field "pid" is not an integer: 1.5, ignored)"},
          {R"({"heartbeat": true})",
           R"(field "heartbeat" is not a time (an ISO-8601 string or unix seconds), ignored)"},
          {R"({"host": ["a"], "current_work": 7})",
           R"(field "host" is not a string, ignored; field "current_work" is not a string, ignored)"},
      }) {
    auto r = parse_agent("agent_1.json", c.json);
    ASSERT_TRUE(r.ok()) << c.json << ": " << r.status().message();
    EXPECT_EQ(r->warning, c.warning) << c.json;
  }
  auto hb = parse_agent("agent_1.json", R"({"heartbeat": true})");
  EXPECT_TRUE(hb->heartbeat_invalid) << "a heartbeat of the wrong type is stale";
  auto pid = parse_agent("agent_1.json", R"({"pid": "12"})");
  EXPECT_EQ(pid->pid, 12) << "numeric strings are integers";
  EXPECT_EQ(pid->warning, "");
}

TEST(RecordParse, UnknownStatusIsCountedAndWarned) {
  auto w = parse_work("work_1.json", R"({"status": "Queued"})");
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->status, "queued");
  EXPECT_EQ(w->warning,
            R"(status "queued" is unknown: counted in the queue, neither pending nor in progress)");
  auto a = parse_agent("agent_1.json", R"({"status": "sleeping"})");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->warning, R"(status "sleeping" is unknown: counted, not as active)");
  auto c = parse_completed("completed_1.json", R"({"status": "cancelled"})");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->warning,
            R"(status "cancelled" is unknown: counted as neither succeeded nor failed)");
  EXPECT_EQ(parse_work("work_2.json", R"({"status": "in_progress"})")->warning, "");
  EXPECT_EQ(parse_agent("agent_2.json", R"({"status": "draining"})")->warning, "");
}

TEST(RecordParse, PriorityWordsAreCounted) {
  struct Case {
    const char* priority;
    std::int64_t value;
  };
  for (const Case& c : std::vector<Case>{{R"("low")", -10},
                                         {R"("Medium")", 0},
                                         {R"("HIGH")", 10},
                                         {R"("critical")", 20},
                                         {R"("5")", 5},
                                         {R"("-3")", -3},
                                         {"7.9", 7},
                                         {"null", 0}}) {
    auto r = parse_work("work_1.json", std::string(R"({"priority": )") + c.priority + "}");
    ASSERT_TRUE(r.ok()) << c.priority << ": " << r.status().message();
    EXPECT_EQ(r->priority, c.value) << c.priority;
    EXPECT_EQ(r->warning, "") << c.priority;
  }
  auto other = parse_work("work_1.json", R"({"priority": "urgent"})");
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->priority, 0);
  EXPECT_EQ(other->warning,
            R"(field "priority" is not a number or one of low, medium, high, critical: "urgent", )"
            "ignored");
}

TEST(RecordParse, HugeNumbersAreOutOfRangeForTheirField) {
  const std::string digits(5000, '9');
  auto big = parse_work("work_1.json", R"({"status": "pending", "attempts": )" + digits + "}");
  ASSERT_TRUE(big.ok()) << big.status().message();
  EXPECT_EQ(big->attempts, 0);
  EXPECT_EQ(big->warning, R"(field "attempts" is out of range: )" + digits.substr(0, 24) +
                              "... (5000 characters) (allowed 0 to 1000000), ignored");
  auto e = parse_work("work_1.json", R"({"priority": 1e99999, "retries": [1e99999]})");
  ASSERT_TRUE(e.ok()) << e.status().message();
  EXPECT_EQ(e->warning,
            R"(field "retries" holds a number out of range for a double, read as null; )"
            R"(field "priority" is out of range: 1e99999 (allowed -1000000 to 1000000), ignored)");
  // The whole-document reader keeps the record too, with the number read as null.
  auto doc = parse_record_doc(R"({"status": "pending", "attempts": )" + digits + "}");
  ASSERT_TRUE(doc.ok()) << doc.status().message();
  EXPECT_TRUE(doc->doc["attempts"].is_null());
  EXPECT_EQ(doc->doc["status"], "pending");
}

TEST(RecordParse, IntegersInWorkFilesAreRangeChecked) {
  auto r = parse_work("work_1.json",
                      R"({"timeout_s": 0, "max_attempts": 0, "attempts": -1, "priority": 2e6})");
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->timeout_s.has_value()) << "0 is no instant timeout: the default applies";
  EXPECT_FALSE(r->max_attempts.has_value());
  EXPECT_EQ(r->attempts, 0);
  EXPECT_EQ(r->priority, 0);
  EXPECT_EQ(r->warning,
            R"(field "priority" is out of range: 2000000 (allowed -1000000 to 1000000), ignored; )"
            R"(field "attempts" is out of range: -1 (allowed 0 to 1000000), ignored; )"
            R"(field "max_attempts" is out of range: 0 (allowed 1 to 1000000), ignored; )"
            R"(field "timeout_s" is out of range: 0 (allowed 1 to 31536000), ignored)");
  auto ok = parse_work("work_1.json", R"({"timeout_s": 2.5})");
  EXPECT_EQ(ok->timeout_s, 3);
}

TEST(RecordParse, NestingDeeperThanTheLimitIsRejected) {
  const std::string deep = "{\"x\": " + std::string(100000, '[') + std::string(100000, ']') + "}";
  EXPECT_EQ(parse_work("work_1.json", deep).status().message(), "nested deeper than 64 levels");
  EXPECT_EQ(parse_record_doc(deep).status().message(), "nested deeper than 64 levels");
  // 64 levels, the top-level object included, are fine; 65 are not.
  const std::string at_limit = "{\"x\": " + std::string(63, '[') + std::string(63, ']') + "}";
  EXPECT_TRUE(parse_work("work_1.json", at_limit).ok());
  EXPECT_TRUE(parse_record_doc(at_limit).ok());
  const std::string over = "{\"x\": " + std::string(64, '[') + std::string(64, ']') + "}";
  EXPECT_FALSE(parse_work("work_1.json", over).ok());
}

TEST(RecordParse, FileNamesThatAreNotUtf8OrNoIdAreRejected) {
  EXPECT_EQ(file_name_problem("work_\xff\xfe.json"), "file name is not valid UTF-8");
  EXPECT_EQ(file_name_problem("agent_\xc3.json"), "file name is not valid UTF-8");
  EXPECT_TRUE(file_name_problem("work_a b.json").has_value());
  EXPECT_FALSE(file_name_problem("work_a-b.1.json").has_value());
  EXPECT_FALSE(file_name_problem("agent_a b.json").has_value()) << "agents are never claimed";
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
           {"{\"status\": \"\xff\xfe\"}", "not valid UTF-8"},
           {"{\"status\": \"\xc0\xaf\"}", "not valid UTF-8"},
           {"{\"status\": \"\xed\xa0\x80\"}", "not valid UTF-8"},
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

  auto word = parse_work("work_5.json", R"({"priority": "high"})");
  ASSERT_TRUE(word.ok());
  EXPECT_EQ(word->priority, 10);
  EXPECT_EQ(parse_work("work_5.json", R"({"claimed_by": 3})")->warning,
            R"(field "claimed_by" is not a string, ignored)");
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
           {R"({"status": "failed", "prompt": "p", "attempts": "one", "max_attempts": 3})", false},
           {R"({"status": "failed", "prompt": "p", "attempts": "1", "max_attempts": 3})", true},
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
    EXPECT_EQ(completed_outcome(s), CompletedOutcome::kSucceeded) << s;
  }
  EXPECT_EQ(completed_outcome("failed"), CompletedOutcome::kFailed);
  EXPECT_EQ(completed_outcome("error"), CompletedOutcome::kFailed);
  EXPECT_EQ(completed_outcome("cancelled"), CompletedOutcome::kOther);
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

// The scanner must accept exactly what nlohmann::json::parse accepts, but for its two documented
// differences (store/json_scan.h): a number no double holds is a value, and a rejection says why.
void expect_same_verdict(const std::string& bytes) {
  bool overflow = false;
  try {
    (void)nlohmann::json::parse(bytes);
  } catch (const nlohmann::json::out_of_range&) {
    overflow = true;
  } catch (const nlohmann::json::exception&) {
  }
  nlohmann::json doc = nlohmann::json::parse(bytes, nullptr, false);
  detail::ScanResult expected = doc.is_discarded() ? detail::ScanResult::kInvalid
                                : doc.is_object()  ? detail::ScanResult::kObject
                                                   : detail::ScanResult::kNotObject;
  std::string_view key = "status";
  detail::Field field;
  detail::ScanResult got = detail::scan_top_level(bytes, &key, 1, &field);
  if (overflow) return;  // parse_record_doc's tests cover these texts
  if (expected == detail::ScanResult::kInvalid &&
      (got == detail::ScanResult::kBadUtf8 || got == detail::ScanResult::kTooDeep)) {
    return;
  }
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

#include "telemetry/otlp_json.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <set>
#include <thread>

namespace dslmodel::telemetry {
namespace {

using nlohmann::json;

SpanData root_span() {
  SpanData s;
  s.name = "swarmsh.autonomous.cycle_complete";
  s.trace_id = *trace_id_from_hex("0102030405060708090a0b0c0d0e0f10");
  s.span_id = *span_id_from_hex("a1a2a3a4a5a6a7a8");
  s.start_unix_nano = 1700000000000000000;
  s.end_unix_nano = 1700000000250000000;
  s.attributes = {{"cycle_duration_ms", std::int64_t{250}},
                  {"decisions_executed", std::int64_t{-3}},
                  {"system_improvement", true},
                  {"health_score", 0.75},
                  {"health_state", std::string("healthy")},
                  {"decision_types", std::vector<std::string>{"scale_up", "rebalance"}}};
  return s;
}

SpanData child_span() {
  SpanData s;
  s.name = "swarmsh.autonomous.decision_execution";
  s.trace_id = root_span().trace_id;
  s.span_id = *span_id_from_hex("b1b2b3b4b5b6b7b8");
  s.parent_span_id = root_span().span_id;
  s.start_unix_nano = 1700000000100000000;
  s.end_unix_nano = 1700000000200000000;
  s.attributes = {{"execution_result", std::string("failed")}};
  s.error = true;
  s.status_message = "actuator exited 1";
  return s;
}

constexpr const char* kGolden = R"({
  "resourceSpans": [{
    "resource": {"attributes": [
      {"key": "service.name", "value": {"stringValue": "dsl-test"}},
      {"key": "deployment.environment", "value": {"stringValue": "production"}}
    ]},
    "scopeSpans": [{
      "scope": {"name": "dslmodel", "version": "0.1.0"},
      "spans": [
        {
          "traceId": "0102030405060708090a0b0c0d0e0f10",
          "spanId": "a1a2a3a4a5a6a7a8",
          "name": "swarmsh.autonomous.cycle_complete",
          "kind": 1,
          "startTimeUnixNano": "1700000000000000000",
          "endTimeUnixNano": "1700000000250000000",
          "attributes": [
            {"key": "cycle_duration_ms", "value": {"intValue": "250"}},
            {"key": "decisions_executed", "value": {"intValue": "-3"}},
            {"key": "system_improvement", "value": {"boolValue": true}},
            {"key": "health_score", "value": {"doubleValue": 0.75}},
            {"key": "health_state", "value": {"stringValue": "healthy"}},
            {"key": "decision_types", "value": {"arrayValue": {"values": [
              {"stringValue": "scale_up"}, {"stringValue": "rebalance"}]}}}
          ]
        },
        {
          "traceId": "0102030405060708090a0b0c0d0e0f10",
          "spanId": "b1b2b3b4b5b6b7b8",
          "parentSpanId": "a1a2a3a4a5a6a7a8",
          "name": "swarmsh.autonomous.decision_execution",
          "kind": 1,
          "startTimeUnixNano": "1700000000100000000",
          "endTimeUnixNano": "1700000000200000000",
          "attributes": [{"key": "execution_result", "value": {"stringValue": "failed"}}],
          "status": {"code": 2, "message": "actuator exited 1"}
        }
      ]
    }]
  }]
})";

TEST(OtlpJson, MatchesGolden) {
  Resource r{"dsl-test", {{"deployment.environment", "production"}, {"service.name", "ignored"}}};
  const json got = encode_export({root_span(), child_span()}, r);
  EXPECT_EQ(got, json::parse(kGolden)) << got.dump(2);
}

TEST(OtlpJson, EmptyExportStillHasResourceAndScope) {
  const json got = encode_export({}, Resource{});
  ASSERT_EQ(got["resourceSpans"].size(), 1U);
  EXPECT_EQ(got["resourceSpans"][0]["resource"]["attributes"][0]["value"]["stringValue"],
            "dslmodel");
  EXPECT_TRUE(got["resourceSpans"][0]["scopeSpans"][0]["spans"].empty());
}

TEST(OtlpJson, NonFiniteDoublesUseProto3JsonStrings) {
  SpanData s = root_span();
  s.attributes = {{"a", std::numeric_limits<double>::quiet_NaN()},
                  {"b", std::numeric_limits<double>::infinity()},
                  {"c", -std::numeric_limits<double>::infinity()}};
  const json attrs =
      encode_export({s}, {})["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["attributes"];
  EXPECT_EQ(attrs[0]["value"]["doubleValue"], "NaN");
  EXPECT_EQ(attrs[1]["value"]["doubleValue"], "Infinity");
  EXPECT_EQ(attrs[2]["value"]["doubleValue"], "-Infinity");
}

TEST(OtlpJson, DumpNeverThrowsOnInvalidUtf8) {
  SpanData s = root_span();
  s.name = "bad\xff\xfe";
  std::string out;
  EXPECT_NO_THROW(out = dump_json(encode_export({s}, {})));
  EXPECT_NE(out.find("bad"), std::string::npos);
}

TEST(OtlpJson, HexRoundTrip) {
  const TraceId t = new_trace_id();
  EXPECT_EQ(to_hex(t).size(), 32U);
  EXPECT_EQ(trace_id_from_hex(to_hex(t)), t);
  const SpanId s = new_span_id();
  EXPECT_EQ(to_hex(s).size(), 16U);
  EXPECT_EQ(span_id_from_hex(to_hex(s)), s);
  EXPECT_EQ(to_hex(*span_id_from_hex("ABCDEF0123456789")), "abcdef0123456789");
  EXPECT_FALSE(span_id_from_hex("abc"));
  EXPECT_FALSE(span_id_from_hex("zzcdef0123456789"));
  EXPECT_FALSE(trace_id_from_hex("a1a2a3a4a5a6a7a8"));
}

TEST(OtlpJson, IdsAreRandomAndNonZeroAcrossThreads) {
  std::set<std::string> seen;
  std::mutex mu;
  std::vector<std::thread> threads;
  threads.reserve(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 500; ++i) {
        const std::string h = to_hex(new_span_id()) + to_hex(new_trace_id());
        std::lock_guard lock(mu);
        seen.insert(h);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(seen.size(), 2000U);
  EXPECT_EQ(seen.count(std::string(48, '0')), 0U);
}

}  // namespace
}  // namespace dslmodel::telemetry

// The OTLP/JSON we export, decoded by an independent OpenTelemetry implementation: the protobufjs
// types of @opentelemetry/otlp-transformer (tests/otlp-decoder), run with the machine's Node.js.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "integration/dsl_runner.h"
#include "platform/subprocess.h"
#include "telemetry/otlp_json.h"

namespace dslmodel::telemetry {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

fs::path decoder_dir() { return fs::path(DSLMODEL_TESTDATA_DIR) / ".." / "otlp-decoder"; }

bool have_node() {
  auto r = platform::run_command({"node", "--version"});
  return r.ok() && r->exit_code == 0;
}

// Installs the pinned decoder packages once (npm ci from package-lock.json).
::testing::AssertionResult ensure_decoder_installed() {
  if (fs::exists(decoder_dir() / "node_modules" / "@opentelemetry" / "otlp-transformer")) {
    return ::testing::AssertionSuccess();
  }
  platform::RunOptions opts;
  opts.timeout = std::chrono::minutes(5);
  auto r = platform::run_command(
      {"npm", "ci", "--no-audit", "--no-fund", "--prefix", decoder_dir().string()}, opts);
  if (!r.ok()) return ::testing::AssertionFailure() << r.status().message();
  if (r->exit_code != 0) return ::testing::AssertionFailure() << "npm ci: " << r->output;
  return ::testing::AssertionSuccess();
}

// Runs decode.mjs on `otlp`; the decoded JSON, or a failure with node's output.
json decode(const std::string& otlp, std::string* error) {
  platform::RunOptions opts;
  opts.timeout = std::chrono::seconds(60);
  opts.stdin_data = otlp;
  auto r = platform::run_command({"node", (decoder_dir() / "decode.mjs").string()}, opts);
  if (!r.ok()) {
    *error = r.status().message();
    return {};
  }
  if (r->exit_code != 0) {
    *error = r->output;
    return {};
  }
  return json::parse(r->output, nullptr, false);
}

SpanData make_span(const std::string& name, const TraceId& trace, const SpanId& parent,
                   std::vector<std::pair<std::string, AttributeValue>> attrs) {
  SpanData s;
  s.name = "swarmsh.autonomous." + name;
  s.trace_id = trace;
  s.span_id = new_span_id();
  s.parent_span_id = parent;
  s.start_unix_nano = 1700000000000000000;
  s.end_unix_nano = 1700000000042000000;
  s.attributes = std::move(attrs);
  return s;
}

// One cycle as the seed describes it: a root and its three children.
std::vector<SpanData> cycle() {
  const TraceId trace = new_trace_id();
  SpanData root = make_span("cycle_complete", trace, {},
                            {{"cycle_duration_ms", std::int64_t{42}},
                             {"decisions_executed", std::int64_t{1}},
                             {"decisions_failed", std::int64_t{0}},
                             {"system_improvement", true}});
  const SpanId r = root.span_id;
  SpanData analysis = make_span("system_analysis", trace, r,
                                {{"completion_rate", 0.5},
                                 {"active_agents", std::int64_t{3}},
                                 {"work_queue_size", std::int64_t{12}},
                                 {"health_score", 0.25},
                                 {"health_state", std::string("critical")}});
  SpanData generation =
      make_span("decision_generation", trace, r,
                {{"decision_count", std::int64_t{2}},
                 {"highest_priority", std::int64_t{1}},
                 {"decision_types", std::vector<std::string>{"scale_up", "rebalance"}}});
  SpanData execution = make_span("decision_execution", trace, r,
                                 {{"decision_id", std::string("d-1")},
                                  {"decision_type", std::string("scale_up")},
                                  {"execution_result", std::string("failed")},
                                  {"confidence", 0.8}});
  execution.error = true;
  execution.status_message = "actuator exited 1";
  return {root, analysis, generation, execution};
}

TEST(OtlpDecode, IndependentDecoderSeesNamesAttributesAndLinks) {
  if (!have_node()) GTEST_SKIP() << "node is not installed";
  ASSERT_TRUE(ensure_decoder_installed());
  const auto spans = cycle();
  std::string error;
  const json out =
      decode(dump_json(encode_export(spans, Resource{"dsl-it", {{"env", "ci"}}})), &error);
  ASSERT_TRUE(error.empty()) << error;
  ASSERT_TRUE(out.is_object());
  EXPECT_EQ(out["resources"][0]["service.name"], "dsl-it");
  EXPECT_EQ(out["resources"][0]["env"], "ci");
  ASSERT_EQ(out["spans"].size(), spans.size());

  std::map<std::string, json> by_name;
  for (const auto& s : out["spans"]) by_name[s["name"].get<std::string>()] = s;
  const json& root = by_name["swarmsh.autonomous.cycle_complete"];
  EXPECT_EQ(root["parentSpanId"], "");
  EXPECT_EQ(root["spanId"], to_hex(spans[0].span_id));
  EXPECT_EQ(root["traceId"], to_hex(spans[0].trace_id));
  EXPECT_EQ(root["kind"], 1);
  EXPECT_EQ(root["startTimeUnixNano"], "1700000000000000000");
  for (const char* child : {"system_analysis", "decision_generation", "decision_execution"}) {
    const json& c = by_name[std::string("swarmsh.autonomous.") + child];
    EXPECT_EQ(c["parentSpanId"], root["spanId"]) << child;
    EXPECT_EQ(c["traceId"], root["traceId"]) << child;
  }

  const std::map<std::string, std::map<std::string, std::string>> want_types = {
      {"cycle_complete",
       {{"cycle_duration_ms", "int"},
        {"decisions_executed", "int"},
        {"decisions_failed", "int"},
        {"system_improvement", "bool"}}},
      {"system_analysis",
       {{"completion_rate", "double"},
        {"active_agents", "int"},
        {"work_queue_size", "int"},
        {"health_score", "double"},
        {"health_state", "string"}}},
      {"decision_generation",
       {{"decision_count", "int"}, {"highest_priority", "int"}, {"decision_types", "array"}}},
      {"decision_execution",
       {{"decision_id", "string"},
        {"decision_type", "string"},
        {"execution_result", "string"},
        {"confidence", "double"}}},
  };
  for (const auto& [name, types] : want_types) {
    const json& s = by_name["swarmsh.autonomous." + name];
    EXPECT_EQ(s["attributeTypes"].size(), types.size()) << name;
    for (const auto& [key, type] : types) EXPECT_EQ(s["attributeTypes"][key], type) << name << key;
  }
  const json& analysis = by_name["swarmsh.autonomous.system_analysis"];
  EXPECT_EQ(analysis["attributes"]["active_agents"], 3);
  EXPECT_EQ(analysis["attributes"]["health_score"], 0.25);
  EXPECT_EQ(analysis["attributes"]["health_state"], "critical");
  EXPECT_EQ(by_name["swarmsh.autonomous.decision_generation"]["attributes"]["decision_types"],
            json::array({"scale_up", "rebalance"}));
  EXPECT_EQ(root["attributes"]["system_improvement"], true);
  const json& execution = by_name["swarmsh.autonomous.decision_execution"];
  EXPECT_EQ(execution["status"]["code"], 2);
  EXPECT_EQ(execution["status"]["message"], "actuator exited 1");
}

// What `dsl auto loop` itself sends (here through --spans-file) decodes the same way.
TEST(OtlpDecode, TheLoopsOwnSpansDecode) {
  if (!have_node()) GTEST_SKIP() << "node is not installed";
  ASSERT_TRUE(ensure_decoder_installed());
  testing::TempDir d;
  fs::copy(fs::path(DSLMODEL_TESTDATA_DIR) / "dslmodel-demo-coordination", d.path(),
           fs::copy_options::recursive);
  testing::write_file(d / "dsl.toml", "[actuator]\nscale_command = [\"true\"]\n");
  const auto run = testing::run_dsl({"--config", (d / "dsl.toml").string(), "auto", "loop",
                                     "--max-cycles", "1", "--metrics-addr", "off", "--spans-file",
                                     (d / "spans.jsonl").string(), "-c", d.path().string()});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  std::string error;
  const json out = decode(testing::slurp(d / "spans.jsonl"), &error);
  ASSERT_TRUE(error.empty()) << error;
  std::map<std::string, json> by_name;
  for (const auto& s : out["spans"]) by_name[s["name"].get<std::string>()] = s;
  const json& root = by_name["swarmsh.autonomous.cycle_complete"];
  ASSERT_TRUE(root.is_object()) << out.dump();
  for (const char* name :
       {"swarmsh.autonomous.system_analysis", "swarmsh.autonomous.decision_generation",
        "swarmsh.autonomous.decision_execution", "swarmsh.thesis.span_drives_code",
        "swarmsh.thesis.telemetry_as_system"}) {
    ASSERT_TRUE(by_name.contains(name)) << name << " in " << out.dump();
    EXPECT_EQ(by_name[name]["parentSpanId"], root["spanId"]) << name;
    EXPECT_EQ(by_name[name]["traceId"], root["traceId"]) << name;
  }
  const json& scaling = by_name["swarmsh.autonomous.scaling_decision"];
  ASSERT_TRUE(scaling.is_object()) << out.dump();
  EXPECT_EQ(scaling["parentSpanId"], by_name["swarmsh.autonomous.decision_execution"]["spanId"]);
  const json& analysis = by_name["swarmsh.autonomous.system_analysis"];
  EXPECT_EQ(analysis["attributeTypes"]["health_score"], "double");
  EXPECT_EQ(analysis["attributeTypes"]["active_agents"], "int");
  EXPECT_EQ(analysis["attributeTypes"]["health_state"], "string");
  EXPECT_EQ(analysis["attributes"]["health_state"], "critical");
  EXPECT_EQ(by_name["swarmsh.autonomous.decision_generation"]["attributeTypes"]["decision_types"],
            "array");
  EXPECT_EQ(root["attributeTypes"]["system_improvement"], "bool");
}

TEST(OtlpDecode, DecoderRejectsWhatIsNotOtlp) {
  if (!have_node()) GTEST_SKIP() << "node is not installed";
  ASSERT_TRUE(ensure_decoder_installed());
  json bad = encode_export(cycle(), Resource{});
  bad["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["spanId"] = "AQIDBAUGBwg=";  // base64
  std::string error;
  (void)decode(bad.dump(), &error);
  EXPECT_NE(error.find("spanId"), std::string::npos) << error;
  error.clear();
  json renamed = encode_export(cycle(), Resource{});
  renamed["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["start_time"] = "1";
  (void)decode(renamed.dump(), &error);
  EXPECT_NE(error.find("round trip"), std::string::npos) << error;
}

}  // namespace
}  // namespace dslmodel::telemetry

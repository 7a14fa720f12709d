// The dsl binary on coordination directories: status, analyze, bad input, configuration.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "integration/dsl_runner.h"

namespace dslmodel::testing {
namespace {

const std::string kFixture = std::string(DSLMODEL_TESTDATA_DIR) + "/dslmodel-demo-coordination";

bool has_warning_for(const nlohmann::json& env, const std::string& file) {
  for (const auto& w : env["warnings"]) {
    if (w.get<std::string>().find(file) != std::string::npos) return true;
  }
  return false;
}

TEST(CliStatus, FixtureFromTheOriginalToolIsReadAsIs) {
  DslRun r = run_dsl({"--json", "auto", "status", "-c", kFixture});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json j = r.json();
  ASSERT_TRUE(j.is_object()) << r.out;
  EXPECT_EQ(j["command"], "auto-status");
  EXPECT_EQ(j["success"], true);
  EXPECT_TRUE(j["timestamp"].is_string());
  EXPECT_EQ(j["errors"], nlohmann::json::array());
  EXPECT_EQ(j["warnings"], nlohmann::json::array());
  const auto& s = j["data"]["status"];
  EXPECT_EQ(s["health_score"].get<double>(), 0.28909090909090907);
  EXPECT_EQ(s["health_state"], "critical");
  EXPECT_EQ(j["data"]["health_state"], "critical");
  EXPECT_EQ(s["active_agents"], 2);
  EXPECT_EQ(s["work_queue_size"], 8);
  EXPECT_EQ(s["pending"], 8);
  EXPECT_EQ(s["in_progress"], 0);
  EXPECT_EQ(s["telemetry_volume"], 4);
  EXPECT_DOUBLE_EQ(s["completion_rate"].get<double>(), 3.0 / 11.0);
  EXPECT_EQ(j["data"]["coordination_dir"], kFixture);
  EXPECT_TRUE(j["data"]["recent_decisions"].is_array());
}

TEST(CliStatus, CoordDirAcceptedBeforeAndAfterTheCommandAndFromEnvironment) {
  DslRun before = run_dsl({"-c", kFixture, "--json", "auto", "status"});
  DslRun after = run_dsl({"auto", "status", "--json", "--coord-dir", kFixture});
  DslRun env = run_dsl({"--json", "auto", "status"}, {"DSLMODEL_COORDINATION_DIR=" + kFixture});
  for (const DslRun* r : {&before, &after, &env}) {
    ASSERT_EQ(r->exit_code, 0) << r->err;
    EXPECT_EQ(r->json()["data"]["status"]["work_queue_size"], 8);
  }
}

TEST(CliStatus, HumanPanelNamesTheState) {
  DslRun r = run_dsl({"auto", "status", "-c", kFixture}, {"NO_COLOR=1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("CRITICAL"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("0.289"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("\x1b["), std::string::npos) << "no colour when not a TTY";
}

TEST(CliStatus, MissingDirectoryExitsOneWithItsPath) {
  DslRun r = run_dsl({"auto", "status", "-c", "/nonexistent/coord"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("coordination directory not found: /nonexistent/coord"), std::string::npos)
      << r.err;
  DslRun j = run_dsl({"--json", "auto", "status", "-c", "/nonexistent/coord"});
  EXPECT_EQ(j.exit_code, 1);
  EXPECT_EQ(j.json()["success"], false);
}

TEST(CliStatus, EveryKindOfBadFileIsRejectedAndTheRestCounted) {
  TempDir d;
  write_file(d / "agent_1.json", R"({"id":"agent_1","status":"active"})");
  write_file(d / "work_ok.json", R"({"status":"pending"})");
  write_file(d / "work_corrupt.json", R"({"status": "pend)");
  write_file(d / "work_empty.json", "");
  write_file(d / "work_array.json", "[1,2,3]");
  write_file(d / "work_badtype.json", R"({"status": 5})");
  write_file(d / "work_utf8.json", "{\"status\":\"pending\",\"x\":\"\xff\xfe\"}");
  write_file(d / "work_big.json", "{\"x\":\"" + std::string(1 << 20, 'a') + "\"}");
  write_file(d / "completed_1.json", R"({"status":"completed"})");
  std::filesystem::create_symlink(d / "work_ok.json", d / "work_link.json");
  DslRun r = run_dsl({"--json", "auto", "status", "-c", d.path().string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json j = r.json();
  EXPECT_EQ(j["data"]["status"]["work_queue_size"], 1);
  EXPECT_EQ(j["data"]["status"]["active_agents"], 1);
  for (const char* f : {"work_corrupt.json", "work_empty.json", "work_array.json",
                        "work_badtype.json", "work_utf8.json", "work_big.json", "work_link.json"}) {
    EXPECT_TRUE(has_warning_for(j, f)) << f << " not in " << j["warnings"].dump();
  }
  EXPECT_EQ(j["warnings"].size(), 7u);
}

TEST(CliAnalyze, JsonFormatHasMetricsAndDecisions) {
  DslRun r = run_dsl({"auto", "analyze", "--format", "json", "-c", kFixture});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json j = r.json();
  ASSERT_TRUE(j.contains("metrics")) << r.out;
  EXPECT_EQ(j["metrics"]["health_score"].get<double>(), 0.28909090909090907);
  ASSERT_TRUE(j["decisions"].is_array());
  ASSERT_FALSE(j["decisions"].empty());
  const auto& d = j["decisions"][0];
  EXPECT_EQ(d["type"], "scale_up");
  EXPECT_EQ(d["parameters"]["current_agents"], 2);
  EXPECT_EQ(d["parameters"]["target_agents"], 5);
  for (const char* k : {"id", "priority", "confidence", "rationale", "reason", "created_at"}) {
    EXPECT_TRUE(d.contains(k)) << k;
  }
  EXPECT_FALSE(std::filesystem::exists(kFixture + "/.dsl")) << "analyze writes nothing";
}

TEST(CliConfig, BadEnvironmentValueExitsTwoNamingIt) {
  DslRun r = run_dsl({"auto", "status", "-c", kFixture}, {"DSLMODEL_AUTO_MAX_AGENTS=abc"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("DSLMODEL_AUTO_MAX_AGENTS"), std::string::npos) << r.err;
  DslRun c = run_dsl({"auto", "status", "-c", kFixture}, {"DSLMODEL_AUTO_MIN_CONFIDENCE=1.5"});
  EXPECT_EQ(c.exit_code, 2);
  EXPECT_NE(c.err.find("DSLMODEL_AUTO_MIN_CONFIDENCE"), std::string::npos) << c.err;
  DslRun b = run_dsl({"auto", "status", "-c", kFixture}, {"DSLMODEL_AUTO_DRY_RUN=maybe"});
  EXPECT_EQ(b.exit_code, 2);
}

TEST(CliConfig, BadConfigKeyExitsTwoNamingFileAndLine) {
  TempDir d;
  write_file(d / "dsl.toml", "[policy]\nmax_agents = 4\nmax_agentz = 5\n");
  DslRun r = run_dsl({"--config", (d / "dsl.toml").string(), "auto", "status", "-c", kFixture});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("dsl.toml:3"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("policy.max_agentz"), std::string::npos) << r.err;
  write_file(d / "bad.toml", "[policy]\nmax_agents = \"ten\"\n");
  DslRun t = run_dsl({"--config", (d / "bad.toml").string(), "auto", "status", "-c", kFixture});
  EXPECT_EQ(t.exit_code, 2);
  EXPECT_NE(t.err.find("bad.toml:2"), std::string::npos) << t.err;
}

TEST(CliConfig, PrecedenceFlagsOverEnvironmentOverFile) {
  TempDir d;
  write_file(d / "dsl.toml", "[policy]\nmax_agents = 3\n");
  // File says 3: critical +3 from 2 agents is capped at 3.
  DslRun f = run_dsl({"--config", (d / "dsl.toml").string(), "auto", "analyze", "--format", "json",
                      "-c", kFixture});
  ASSERT_EQ(f.exit_code, 0) << f.err;
  EXPECT_EQ(f.json()["decisions"][0]["parameters"]["target_agents"], 3);
  // Environment beats the file.
  DslRun e = run_dsl({"--config", (d / "dsl.toml").string(), "auto", "analyze", "--format", "json",
                      "-c", kFixture},
                     {"DSLMODEL_AUTO_MAX_AGENTS=4"});
  EXPECT_EQ(e.json()["decisions"][0]["parameters"]["target_agents"], 4);
}

// A flag out of range is refused while parsing, naming the flag, the value and the range: an
// agent's --timeout 9999999999 would overflow its clock into an instant timeout.
TEST(CliConfig, FlagsOutOfRangeExitTwoNamingFlagValueAndRange) {
  TempDir d;
  struct Case {
    std::vector<std::string> args;
    std::string flag;
    std::string expect;
  };
  const std::string dir = d.path().string();
  for (const auto& tc : std::vector<Case>{
           {{"agent", "run", "-c", dir, "--timeout", "9999999999"},
            "--timeout",
            "expected a whole number of seconds from 1 to 315360000, got '9999999999'"},
           {{"agent", "run", "-c", dir, "--poll-ms", "99999999999999999999"}, "--poll-ms", "got"},
           {{"agent", "run", "-c", dir, "--heartbeat", "inf"}, "--heartbeat", "got 'inf'"},
           {{"agent", "run", "-c", dir, "--grace", "nan"}, "--grace", "got 'nan'"},
           {{"work", "add", "-c", dir, "--timeout", "9999999999", "--", "true"},
            "--timeout",
            "315360000"},
           {{"work", "add", "-c", dir, "--max-attempts", "4294967297", "--", "true"},
            "--max-attempts",
            "from 1 to 1000000"},
           {{"auto", "execute", "-c", dir, "--max", "4294967297"}, "--max", "from 0 to 1000"},
           {{"auto", "execute", "-c", dir, "--min-confidence", "nan"},
            "--min-confidence",
            "got 'nan'"},
           {{"auto", "loop", "-c", dir, "--interval", "nan"}, "--interval", "got 'nan'"},
           {{"auto", "loop", "-c", dir, "--lease-ttl", "4294967297"}, "--lease-ttl", "3600"},
           {{"auto", "history", "-c", dir, "--limit", "-1"}, "--limit", "got '-1'"}}) {
    DslRun r = run_dsl(tc.args);
    EXPECT_EQ(r.exit_code, 2) << tc.flag << ": " << r.err;
    EXPECT_NE(r.err.find(tc.flag), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(tc.expect), std::string::npos) << r.err;
  }
  EXPECT_TRUE(std::filesystem::is_empty(d.path())) << "nothing was queued";
}

TEST(CliConfig, OutOfRangeSettingExitsTwoNamingFileLineValueAndRange) {
  TempDir d;
  write_file(d / "dsl.toml", "[policy]\nmax_agents = 4294967297\n");
  DslRun r = run_dsl({"--config", (d / "dsl.toml").string(), "auto", "status", "-c", kFixture});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("dsl.toml:2: invalid value for 'policy.max_agents': expected an integer "
                       "from 1 to 100000, got 4294967297"),
            std::string::npos)
      << r.err;
  write_file(d / "nan.toml", "[engine]\nmin_confidence = nan\n");
  DslRun n = run_dsl({"--config", (d / "nan.toml").string(), "auto", "status", "-c", kFixture});
  EXPECT_EQ(n.exit_code, 2);
  EXPECT_NE(n.err.find("nan.toml:2"), std::string::npos) << n.err;
  write_file(d / "label.toml", "[labels]\n\"a\\\"b\" = \"x\"\n");
  DslRun l = run_dsl({"--config", (d / "label.toml").string(), "auto", "status", "-c", kFixture});
  EXPECT_EQ(l.exit_code, 2);
  EXPECT_NE(l.err.find("label.toml:2: invalid label name 'a\"b'"), std::string::npos) << l.err;
}

TEST(CliUsage, UnknownFlagAndMissingCommandExitTwo) {
  EXPECT_EQ(run_dsl({"auto", "status", "--bogus"}).exit_code, 2);
  EXPECT_EQ(run_dsl({"auto"}).exit_code, 2);
  EXPECT_EQ(run_dsl({"auto", "execute", "--max", "x"}).exit_code, 2);
  DslRun h = run_dsl({"--help"});
  EXPECT_EQ(h.exit_code, 0);
  EXPECT_NE(h.out.find("auto"), std::string::npos);
}

}  // namespace
}  // namespace dslmodel::testing

// `dsl auto simulate` through the real binary: the JSON contract, the plot, errors and exit codes.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "integration/dsl_runner.h"

namespace dslmodel::testing {
namespace {

namespace fs = std::filesystem;

TEST(CliSimulate, JsonResultsCarryTheContractFields) {
  DslRun r = run_dsl({"auto", "simulate", "--trace", "burst", "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json j = r.json();
  ASSERT_TRUE(j.contains("results")) << r.out;
  ASSERT_EQ(j["results"].size(), 3u);
  EXPECT_EQ(j["results"][0]["policy"], "default");
  EXPECT_EQ(j["results"][1]["policy"], "seed");
  EXPECT_EQ(j["results"][2]["policy"], "hpa");
  for (const auto& res : j["results"]) {
    for (const char* key :
         {"policy", "drain_s", "p50_wait_s", "p95_wait_s", "max_wait_s", "agent_seconds",
          "max_agents", "direction_changes", "scale_actions", "lost"}) {
      EXPECT_TRUE(res.contains(key)) << key;
    }
    EXPECT_EQ(res["lost"], 0);
  }
  // The global --json: the envelope, with the results also at the top level.
  DslRun env = run_dsl({"--json", "auto", "simulate", "--trace", "spike", "--policy", "hpa"});
  ASSERT_EQ(env.exit_code, 0) << env.err;
  EXPECT_EQ(env.json()["command"], "auto-simulate");
  EXPECT_EQ(env.json()["data"]["results"], env.json()["results"]);
  EXPECT_EQ(env.json()["results"].size(), 1u);
}

TEST(CliSimulate, TraceFileConfigPolicyAndPlot) {
  TempDir d;
  write_file(d / "t.jsonl",
             "# a small trace\n"
             "{\"at\": \"2026-01-01T00:00:00Z\", \"duration_s\": 0.5}\n"
             "{\"at\": \"2026-01-01T00:00:02Z\", \"duration_s\": 1.5, \"priority\": 2}\n"
             "{\"at\": \"2026-01-01T00:00:01Z\", \"crash\": 1}\n");
  write_file(d / "small.toml", "[policy]\nmax_agents = 2\ntarget_drain = 30\n");
  const std::string svg = (d / "run.svg").string();
  DslRun r =
      run_dsl({"auto", "simulate", "--trace", (d / "t.jsonl").string(), "--policy", "default",
               "--policy", (d / "small.toml").string(), "--plot", svg, "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json j = r.json();
  EXPECT_EQ(j["items"], 2);
  EXPECT_EQ(j["results"][1]["policy"], "small");
  EXPECT_LE(j["results"][1]["max_agents"].get<int>(), 2);
  std::ifstream f(svg);
  std::stringstream ss;
  ss << f.rdbuf();
  EXPECT_NE(ss.str().find("<svg"), std::string::npos);
  EXPECT_NE(ss.str().find("small"), std::string::npos);
  // The table names every policy.
  DslRun table = run_dsl({"auto", "simulate", "--trace", (d / "t.jsonl").string()});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  for (const char* p : {"default", "seed", "hpa", "P95 WAIT"}) {
    EXPECT_NE(table.out.find(p), std::string::npos) << p;
  }
}

TEST(CliSimulate, ErrorsSayWhatIsWrong) {
  TempDir d;
  write_file(d / "bad.csv", "at,duration_s\n0,0.5\n1,-2\n");
  DslRun bad = run_dsl({"auto", "simulate", "--trace", (d / "bad.csv").string()});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("line 3"), std::string::npos) << bad.err;
  DslRun missing = run_dsl({"auto", "simulate", "--trace", (d / "none.csv").string()});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("not found"), std::string::npos) << missing.err;
  DslRun unknown = run_dsl({"auto", "simulate", "--trace", "tsunami"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.err.find("burst"), std::string::npos) << unknown.err;
  DslRun neither = run_dsl({"auto", "simulate"});
  EXPECT_EQ(neither.exit_code, 2);
  DslRun policy = run_dsl({"auto", "simulate", "--trace", "burst", "--policy", "kubernetes"});
  EXPECT_EQ(policy.exit_code, 2);
  EXPECT_NE(policy.err.find("kubernetes"), std::string::npos) << policy.err;
  DslRun empty_dir = run_dsl({"auto", "simulate", "--from-dir", d.path().string()});
  EXPECT_EQ(empty_dir.exit_code, 1);
  EXPECT_NE(empty_dir.err.find("created"), std::string::npos) << empty_dir.err;
}

}  // namespace
}  // namespace dslmodel::testing

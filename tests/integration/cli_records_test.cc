// The dsl binary on work records from the real world and from an attacker: priority words,
// wrong-typed fields, duplicate ids, deep nesting, text that is not UTF-8, huge numbers
// (docs/metrics.md). Every command must count what it can, warn about the rest, and never crash.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "integration/dsl_runner.h"

namespace dslmodel::testing {
namespace {

namespace fs = std::filesystem;

bool has_warning(const nlohmann::json& env, const std::string& text) {
  for (const auto& w : env["warnings"]) {
    if (w.get<std::string>().find(text) != std::string::npos) return true;
  }
  return false;
}

// 5 active agents, 20 telemetry records and 10 successes: the health then hangs on the queue.
void healthy_swarm(const TempDir& d) {
  for (int i = 0; i < 5; ++i) {
    write_file(d / ("agent_" + std::to_string(i) + ".json"), R"({"status": "active"})");
  }
  for (int i = 0; i < 20; ++i) write_file(d / ("telemetry_" + std::to_string(i) + ".json"), "{}");
  for (int i = 0; i < 10; ++i) {
    write_file(d / ("completed_" + std::to_string(i) + ".json"), R"({"status": "completed"})");
  }
}

TEST(CliRecords, PriorityWordsAreCounted) {
  TempDir d;
  healthy_swarm(d);
  for (int i = 0; i < 5; ++i) {
    write_file(d / ("work_n" + std::to_string(i) + ".json"),
               R"({"status": "pending", "priority": )" + std::to_string(i) + "}");
  }
  int k = 0;
  for (const char* p : {R"("high")", R"("critical")", R"("medium")", R"("low")", R"("HIGH")",
                        R"("Low")", R"("5")"}) {
    write_file(d / ("work_w" + std::to_string(k++) + ".json"),
               std::string(R"({"status": "pending", "priority": )") + p + "}");
  }
  DslRun r = run_dsl({"--json", "auto", "status", "-c", d.path().string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json j = r.json();
  const auto& s = j["data"]["status"];
  EXPECT_EQ(s["work_queue_size"], 12);
  EXPECT_EQ(s["pending"], 12);
  // Counted as 5 the swarm would score 0.767, healthy; with all 12 waiting it is degraded.
  EXPECT_NEAR(s["health_score"].get<double>(), 0.4 * 10.0 / 22.0 + 0.3 + 0.1, 1e-9);
  EXPECT_EQ(s["health_state"], "degraded");
  EXPECT_EQ(j["warnings"], nlohmann::json::array());

  DslRun analyze = run_dsl({"auto", "analyze", "--format", "json", "-c", d.path().string()});
  ASSERT_EQ(analyze.exit_code, 0) << analyze.err;
  EXPECT_EQ(analyze.json()["metrics"]["work_queue_size"], 12);
  DslRun list = run_dsl({"--json", "work", "list", "-c", d.path().string()});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  const nlohmann::json listed = list.json();
  const nlohmann::json& items = listed["data"]["items"];
  ASSERT_EQ(items.size(), 12U);
  EXPECT_EQ(items[0]["priority"], "critical") << "critical (20) runs first";
  EXPECT_EQ(items[11]["priority"], "Low");
}

TEST(CliRecords, WarningsSurfaceInStatusAndAnalyze) {
  TempDir d;
  write_file(d / "work_1.json", R"({"status": "pending", "attempts": "many", "timeout_s": 0})");
  write_file(d / "work_2.json", R"({"status": "queued"})");
  write_file(d / "agent_1.json", R"({"id": "a", "status": "active", "pid": [1]})");
  write_file(d / "agent_2.json", R"({"id": "a", "status": "active"})");
  write_file(d / "work_3.json", R"({"status": 7})");
  DslRun r = run_dsl({"--json", "auto", "status", "-c", d.path().string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json j = r.json();
  EXPECT_EQ(j["data"]["status"]["work_queue_size"], 2) << "the unknown status is counted";
  EXPECT_EQ(j["data"]["status"]["active_agents"], 1) << "one id, one agent";
  EXPECT_EQ(j["data"]["status"]["rejected_files"], 1);
  EXPECT_TRUE(has_warning(j, R"(work_3.json: field "status" is not a string)")) << j["warnings"];
  EXPECT_TRUE(has_warning(j, R"(work_1.json: field "attempts" is not an integer: "many")"));
  EXPECT_TRUE(has_warning(j, R"(field "timeout_s" is out of range: 0 (allowed 1 to 31536000))"));
  EXPECT_TRUE(has_warning(j, R"(work_2.json: status "queued" is unknown)"));
  EXPECT_TRUE(has_warning(j, R"(agent_1.json: field "pid" is not an integer)"));
  EXPECT_TRUE(has_warning(j, R"(id "a" is used by 2 files)"));

  DslRun analyze = run_dsl({"--json", "auto", "analyze", "-c", d.path().string()});
  ASSERT_EQ(analyze.exit_code, 0) << analyze.err;
  EXPECT_EQ(analyze.json()["warnings"], j["warnings"]);

  DslRun human = run_dsl({"auto", "status", "-c", d.path().string()});
  ASSERT_EQ(human.exit_code, 0) << human.err;
  EXPECT_NE(human.out.find("1 file(s) rejected, 4 counted with a warning"), std::string::npos)
      << human.out;
  EXPECT_NE(human.out.find(R"(work_2.json: status "queued" is unknown)"), std::string::npos);
}

TEST(CliRecords, DeepNestingIsABadFileAndCrashesNothing) {
  TempDir d;
  const std::string deep = R"({"status": "pending", "command": ["true"], "x": )" +
                           std::string(100000, '[') + std::string(100000, ']') + "}";
  ASSERT_GT(deep.size(), 200000U);
  write_file(d / "work_deep.json", deep);
  write_file(d / "work_ok.json", R"({"status": "pending", "command": ["true"]})");
  const std::string dir = d.path().string();

  DslRun status = run_dsl({"--json", "auto", "status", "-c", dir});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  EXPECT_EQ(status.json()["data"]["status"]["work_queue_size"], 1);
  EXPECT_TRUE(has_warning(status.json(), "work_deep.json: nested deeper than 64 levels"));

  DslRun execute = run_dsl({"--json", "auto", "execute", "-c", dir});
  EXPECT_TRUE(execute.exit_code == 0 || execute.exit_code == 1) << execute.err;
  EXPECT_TRUE(execute.json().is_object()) << execute.out;
  DslRun loop = run_dsl({"auto", "loop", "--interval", "0.1", "--max-cycles", "2", "-c", dir});
  EXPECT_TRUE(loop.exit_code == 0 || loop.exit_code == 1) << loop.err;
  DslRun list = run_dsl({"work", "list", "-c", dir});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_EQ(list.out.find("deep"), std::string::npos);
  DslRun show = run_dsl({"work", "show", "deep", "-c", dir});
  EXPECT_EQ(show.exit_code, 1);
  EXPECT_NE(show.err.find("nested deeper than 64 levels"), std::string::npos) << show.err;

  DslRun agent = run_dsl({"agent", "run", "-c", dir, "--id", "a1", "--exit-when-idle"});
  ASSERT_EQ(agent.exit_code, 0) << agent.err;
  EXPECT_TRUE(fs::exists(d / "completed_ok.json"));
  EXPECT_EQ(slurp(d / "work_deep.json"), deep) << "not claimable: left as it was";
}

TEST(CliRecords, NamesAndContentsThatAreNotUtf8NeverAbort) {
  TempDir d;
  write_file(d / "work_\xff\xfe.json", R"({"status": "pending", "command": ["true"]})");
  write_file(d / "work_bytes.json", "{\"status\": \"pending\", \"prompt\": \"\xff\"}");
  write_file(d / "work_ok.json", R"({"status": "pending", "command": ["printf", "\\377\\376"]})");
  const std::string dir = d.path().string();

  DslRun list = run_dsl({"--json", "work", "list", "-c", dir});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  ASSERT_EQ(list.json()["data"]["items"].size(), 1U) << list.out;
  DslRun analyze = run_dsl({"auto", "analyze", "--format", "json", "-c", dir});
  ASSERT_EQ(analyze.exit_code, 0) << analyze.err;
  EXPECT_EQ(analyze.json()["metrics"]["rejected_files"], 2);
  DslRun enveloped = run_dsl({"--json", "auto", "analyze", "--format", "json", "-c", dir});
  ASSERT_EQ(enveloped.exit_code, 0) << enveloped.err;
  nlohmann::json j = enveloped.json();
  ASSERT_TRUE(j.is_object()) << enveloped.out;
  EXPECT_TRUE(has_warning(j, "work_\xef\xbf\xbd\xef\xbf\xbd.json: file name is not valid UTF-8"));
  EXPECT_TRUE(has_warning(j, "work_bytes.json: not valid UTF-8"));

  // The agent runs only the usable item, whose output is not UTF-8 either, and reports it.
  DslRun agent = run_dsl({"agent", "run", "-c", dir, "--id", "a1", "--exit-when-idle"});
  ASSERT_EQ(agent.exit_code, 0) << agent.err;
  nlohmann::json done = nlohmann::json::parse(slurp(d / "completed_ok.json"), nullptr, false);
  ASSERT_TRUE(done.is_object());
  EXPECT_EQ(done["status"], "completed");
  EXPECT_EQ(done["result"], "\xef\xbf\xbd\xef\xbf\xbd");
  EXPECT_EQ(slurp(d / "work_\xff\xfe.json"), R"({"status": "pending", "command": ["true"]})");
}

TEST(CliRecords, HugeNumbersAreOutOfRangeForTheirField) {
  TempDir d;
  write_file(d / "work_big.json", R"({"status": "pending", "command": ["true"], "attempts": )" +
                                      std::string(5000, '9') + R"(, "retries": 1e99999})");
  DslRun r = run_dsl({"--json", "auto", "status", "-c", d.path().string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json j = r.json();
  EXPECT_EQ(j["data"]["status"]["work_queue_size"], 1);
  EXPECT_TRUE(has_warning(j, R"(work_big.json: field "retries" holds a number out of range)"))
      << j["warnings"];
  EXPECT_TRUE(has_warning(j, R"(field "attempts" is out of range: 9999)"));
  DslRun agent =
      run_dsl({"agent", "run", "-c", d.path().string(), "--id", "a1", "--exit-when-idle"});
  ASSERT_EQ(agent.exit_code, 0) << agent.err;
  EXPECT_TRUE(fs::exists(d / "completed_big.json"));
}

}  // namespace
}  // namespace dslmodel::testing

// The dsl binary acting: execute, dry run, the command hook, journal, rollback, loop, kill -9.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <thread>

#include "dslmodel/time.h"
#include "integration/dsl_runner.h"

namespace dslmodel::testing {
namespace {

using namespace std::chrono_literals;

std::string now_iso() { return format_iso8601(std::chrono::system_clock::now()); }

// 2 live agents, 5 pending items and 10 items claimed by an agent that no longer exists.
void write_orphan_scenario(const TempDir& d) {
  for (int i = 1; i <= 2; ++i) {
    write_file(d / ("agent_" + std::to_string(i) + ".json"),
               R"({"id":"agent_)" + std::to_string(i) + R"(","status":"busy","heartbeat":")" +
                   now_iso() + "\"}");
  }
  for (int i = 0; i < 15; ++i) {
    std::string body = i < 10 ? R"({"status":"claimed","claimed_by":"agent_gone","created":")" +
                                    now_iso() + R"("})"
                              : R"({"status":"pending"})";
    write_file(d / ("work_" + std::to_string(i) + ".json"), body);
  }
}

nlohmann::json read_json(const std::filesystem::path& p) {
  return nlohmann::json::parse(slurp(p), nullptr, false);
}

// A hook that records "<current> <target>" lines and echoes a message.
std::filesystem::path write_hook(const TempDir& d, const std::string& extra = "") {
  write_file(d / "hook.sh",
             "#!/bin/sh\n" + extra + "echo \"$1 $2\" >> \"$3/hook.log\"\necho scaled to $2\n");
  write_file(d / "dsl.toml", "[actuator]\nscale_command = [\"sh\", \"" + (d / "hook.sh").string() +
                                 "\", \"{current_agents}\", \"{target_agents}\", \"" +
                                 d.path().string() + "\"]\ntimeout = 20\n");
  return d / "dsl.toml";
}

TEST(CliExecute, RepairsOrphanedClaimsForRealAndRollsThemBack) {
  TempDir d;
  write_orphan_scenario(d);
  DslRun an = run_dsl({"auto", "analyze", "--format", "json", "-c", d.path().string()});
  ASSERT_EQ(an.exit_code, 0) << an.err;
  bool found = false;
  const nlohmann::json analysis = an.json();
  for (const auto& dec : analysis["decisions"]) {
    if (dec["type"] == "coordination_improve") {
      found = true;
      EXPECT_EQ(dec["parameters"]["items"], 10);
    }
  }
  EXPECT_TRUE(found) << an.out;

  DslRun ex = run_dsl({"auto", "execute", "--format", "json", "-c", d.path().string()});
  nlohmann::json j = ex.json();
  ASSERT_TRUE(j.is_object()) << ex.out << ex.err;
  std::string improve_id;
  for (const auto& e : j["executed"]) {
    if (e["type"] == "coordination_improve") improve_id = e["decision_id"];
    EXPECT_TRUE(e.contains("duration_ms"));
  }
  ASSERT_FALSE(improve_id.empty()) << ex.out;
  bool scale_skipped = false;
  for (const auto& s : j["skipped"]) {
    if (s["reason"] == "no_actuator") scale_skipped = true;
  }
  EXPECT_TRUE(scale_skipped) << "a scale decision with no actuator is skipped: " << ex.out;
  for (int i = 0; i < 10; ++i) {
    auto w = read_json(d / ("work_" + std::to_string(i) + ".json"));
    EXPECT_EQ(w["status"], "pending") << i;
    EXPECT_FALSE(w.contains("claimed_by")) << i;
  }

  DslRun hist = run_dsl({"--json", "auto", "history", "-c", d.path().string()});
  ASSERT_EQ(hist.exit_code, 0) << hist.err;
  EXPECT_NE(hist.out.find(improve_id), std::string::npos);

  DslRun rb = run_dsl({"auto", "rollback", improve_id, "-c", d.path().string()});
  ASSERT_EQ(rb.exit_code, 0) << rb.err;
  for (int i = 0; i < 10; ++i) {
    auto w = read_json(d / ("work_" + std::to_string(i) + ".json"));
    EXPECT_EQ(w["status"], "claimed") << i;
    EXPECT_EQ(w["claimed_by"], "agent_gone") << i;
  }
  DslRun again = run_dsl({"auto", "rollback", improve_id, "-c", d.path().string()});
  EXPECT_EQ(again.exit_code, 1) << "a second rollback is refused";
  EXPECT_EQ(run_dsl({"auto", "rollback", "dec-nope", "-c", d.path().string()}).exit_code, 2);
}

TEST(CliExecute, DryRunChangesNothingAndSaysWhy) {
  TempDir d;
  write_orphan_scenario(d);
  const std::string before = slurp(d / "work_0.json");
  for (const auto& run :
       {run_dsl({"auto", "execute", "--dry-run", "--format", "json", "-c", d.path().string()}),
        run_dsl({"auto", "execute", "--format", "json", "-c", d.path().string()},
                {"DSLMODEL_AUTO_DRY_RUN=true"})}) {
    ASSERT_EQ(run.exit_code, 0) << run.err;
    nlohmann::json j = run.json();
    EXPECT_TRUE(j["executed"].empty());
    ASSERT_FALSE(j["skipped"].empty());
    for (const auto& s : j["skipped"]) {
      // A scale decision would not run anyway: it says so (no_actuator) before dry_run.
      EXPECT_EQ(s["reason"], s["type"] == "scale_up" ? "no_actuator" : "dry_run") << s;
    }
  }
  EXPECT_EQ(slurp(d / "work_0.json"), before);
}

// `DSLMODEL_AUTO_DRY_RUN=` (empty) is unset: the file's dry_run = true stands, nothing is repaired.
TEST(CliExecute, EmptyDryRunVariableKeepsTheConfiguredDryRun) {
  TempDir d;
  write_orphan_scenario(d);
  write_file(d / "dsl.toml", "[engine]\ndry_run = true\n");
  const std::string before = slurp(d / "work_0.json");
  DslRun r = run_dsl({"--config", (d / "dsl.toml").string(), "auto", "execute", "--format", "json",
                      "-c", d.path().string()},
                     {"DSLMODEL_AUTO_DRY_RUN="});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json j = r.json();
  EXPECT_TRUE(j["executed"].empty()) << r.out;
  bool repair_skipped = false;
  for (const auto& s : j["skipped"]) {
    if (s["type"] == "coordination_improve") {
      EXPECT_EQ(s["reason"], "dry_run") << s;
      repair_skipped = true;
    }
  }
  EXPECT_TRUE(repair_skipped) << r.out;
  EXPECT_EQ(slurp(d / "work_0.json"), before);
}

// The temp file of a write killed before its rename is removed by the next repair, which says so.
TEST(CliExecute, StaleTempFileIsRemovedByTheRepairAndReported) {
  TempDir d;
  write_orphan_scenario(d);
  const std::filesystem::path tmp = d / ".work_0.json.tmp.4242.0123456789abcdef";
  write_file(tmp, R"({"status":"pend)");
  std::filesystem::last_write_time(tmp, std::filesystem::file_time_type::clock::now() - 10min);
  DslRun r = run_dsl({"auto", "execute", "--format", "json", "-c", d.path().string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  bool reported = false;
  const nlohmann::json j = r.json();
  for (const auto& e : j["executed"]) {
    if (e["type"] == "coordination_improve") {
      EXPECT_NE(e["result"].get<std::string>().find("removed 1 stale temp file"), std::string::npos)
          << e;
      reported = true;
    }
  }
  EXPECT_TRUE(reported) << r.out;
  EXPECT_FALSE(std::filesystem::exists(tmp));
}

// A symlinked .dsl/ is refused, naming it: no journal is written where it points.
TEST(CliExecute, SymlinkedStateDirectoryIsRefused) {
  TempDir d;
  TempDir elsewhere;
  write_orphan_scenario(d);
  std::filesystem::create_directory_symlink(elsewhere.path(), d / ".dsl");
  DslRun r = run_dsl({"auto", "execute", "--format", "json", "-c", d.path().string()});
  EXPECT_NE(r.exit_code, 0) << r.out;
  EXPECT_NE((r.out + r.err).find((d / ".dsl").string() + ": is a symlink"), std::string::npos)
      << r.out << r.err;
  EXPECT_TRUE(std::filesystem::is_empty(elsewhere.path()));
}

TEST(CliExecute, ConfidenceGateAndForceConfidence) {
  TempDir d;
  write_orphan_scenario(d);
  DslRun r = run_dsl(
      {"auto", "execute", "--min-confidence", "1.0", "--format", "json", "-c", d.path().string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json gated = r.json();
  EXPECT_TRUE(gated["executed"].empty());
  for (const auto& s : gated["skipped"]) {
    if (s["type"] == "coordination_improve") EXPECT_EQ(s["reason"], "low_confidence");
  }
  DslRun f = run_dsl({"auto", "execute", "--min-confidence", "1.0", "--force-confidence", "0.5",
                      "--format", "json", "-c", d.path().string()});
  EXPECT_FALSE(f.json()["executed"].empty()) << f.out;
}

TEST(CliExecute, ScaleGoesThroughTheCommandHookAndRollsBack) {
  TempDir d;
  std::filesystem::copy(std::string(DSLMODEL_TESTDATA_DIR) + "/dslmodel-demo-coordination",
                        d.path(), std::filesystem::copy_options::recursive);
  auto cfg = write_hook(d);
  DslRun r =
      run_dsl({"--config", cfg.string(), "--json", "auto", "execute", "-c", d.path().string()});
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  nlohmann::json j = r.json();
  EXPECT_EQ(j["command"], "auto-execute");
  ASSERT_EQ(j["data"]["executed"].size(), 1u) << r.out;
  const auto& e = j["data"]["executed"][0];
  EXPECT_EQ(e["type"], "scale_up");
  EXPECT_EQ(slurp(d / "hook.log"), "2 5\n");
  DslRun rb = run_dsl(
      {"--config", cfg.string(), "auto", "rollback", e["decision_id"], "-c", d.path().string()});
  ASSERT_EQ(rb.exit_code, 0) << rb.err;
  EXPECT_EQ(slurp(d / "hook.log"), "2 5\n5 2\n");
}

TEST(CliExecute, FailingHookExitsOneAndIsJournaled) {
  TempDir d;
  std::filesystem::copy(std::string(DSLMODEL_TESTDATA_DIR) + "/dslmodel-demo-coordination",
                        d.path(), std::filesystem::copy_options::recursive);
  auto cfg = write_hook(d, "echo 'no such deployment' >&2; exit 3\n");
  DslRun r = run_dsl(
      {"--config", cfg.string(), "auto", "execute", "--format", "json", "-c", d.path().string()});
  EXPECT_EQ(r.exit_code, 1);
  ASSERT_EQ(r.json()["failed"].size(), 1u) << r.out;
  EXPECT_NE(r.json()["failed"][0]["error"].get<std::string>().find("3"), std::string::npos);
  DslRun h = run_dsl({"--json", "auto", "history", "-c", d.path().string()});
  EXPECT_NE(h.out.find("\"failed\""), std::string::npos) << h.out;
}

TEST(CliExecute, KillNineDuringExecuteLeavesFilesWholeAndJournalReadable) {
  TempDir d;
  write_orphan_scenario(d);
  auto cfg = write_hook(d, "echo $$ > \"$3/hook.pid\"; sleep 30\n");
  DslProcess p(
      {"--config", cfg.string(), "auto", "execute", "--max", "5", "-c", d.path().string()});
  for (int i = 0; i < 200 && !std::filesystem::exists(d / "hook.pid"); ++i) {
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_TRUE(std::filesystem::exists(d / "hook.pid")) << p.err();
  p.signal(SIGKILL);
  EXPECT_EQ(p.wait(), 128 + SIGKILL);
  std::this_thread::sleep_for(100ms);
  const std::string hook_pid = slurp(d / "hook.pid");
  if (!hook_pid.empty()) kill(std::stoi(hook_pid), SIGKILL);
  for (const auto& f : std::filesystem::directory_iterator(d.path())) {
    if (f.path().extension() == ".json") {
      EXPECT_TRUE(read_json(f.path()).is_object()) << f.path();
    }
  }
  DslRun h = run_dsl({"--json", "auto", "history", "-c", d.path().string()});
  ASSERT_EQ(h.exit_code, 0) << h.err;
  EXPECT_NE(h.out.find("intent"), std::string::npos) << h.out;
  DslRun s = run_dsl({"--json", "auto", "status", "-c", d.path().string()});
  EXPECT_EQ(s.exit_code, 0) << s.err;
}

// These loops start no agents (the loop's default actuator would).
std::string watch_only(const TempDir& d) {
  write_file(d / "watch.toml", "[actuator]\nkind = \"none\"\n");
  return (d / "watch.toml").string();
}

TEST(CliLoop, RunsTheGivenCyclesOneLineEach) {
  TempDir d;
  write_orphan_scenario(d);
  DslRun r = run_dsl({"--config", watch_only(d), "auto", "loop", "--interval", "0.1",
                      "--max-cycles", "3", "-c", d.path().string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("cycle 1 "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("cycle 3 "), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("cycle 4 "), std::string::npos) << r.out;
}

TEST(CliLoop, SigtermFinishesTheCycleAndExitsZero) {
  TempDir d;
  write_orphan_scenario(d);
  for (int sig : {SIGTERM, SIGINT}) {
    DslProcess p(
        {"--config", watch_only(d), "auto", "loop", "--interval", "60", "-c", d.path().string()});
    for (int i = 0; i < 200 && p.out().find("cycle 1 ") == std::string::npos; ++i) {
      std::this_thread::sleep_for(50ms);
    }
    ASSERT_NE(p.out().find("cycle 1 "), std::string::npos) << p.err();
    const auto t0 = std::chrono::steady_clock::now();
    p.signal(sig);
    EXPECT_EQ(p.wait(), 0) << p.err();
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
    EXPECT_NE(p.out().find("loop stopped"), std::string::npos) << p.out();
  }
}

}  // namespace
}  // namespace dslmodel::testing

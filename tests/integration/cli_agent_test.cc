// The dsl binary's reference agent on temp coordination directories: draining a queue, stopping
// on SIGTERM mid-item, running injection attempts literally, refusing a string command.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "integration/dsl_runner.h"

namespace dslmodel::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

nlohmann::json read_json(const fs::path& p) {
  return nlohmann::json::parse(slurp(p), nullptr, false);
}

std::size_t count_prefix(const fs::path& dir, const std::string& prefix) {
  std::size_t n = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().filename().string().starts_with(prefix)) ++n;
  }
  return n;
}

bool wait_for(const std::function<bool()>& cond, std::chrono::milliseconds limit = 10s) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (cond()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return cond();
}

void add(const std::string& dir, std::vector<std::string> args) {
  std::vector<std::string> full = {"work", "add", "-c", dir};
  full.insert(full.end(), args.begin(), args.end());
  DslRun r = run_dsl(full);
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

TEST(CliAgent, DrainsTheQueueAndExitsWhenIdle) {
  TempDir d;
  const std::string dir = d.path().string();
  add(dir, {"--id", "ok", "--", "echo", "done"});
  add(dir, {"--id", "bad", "--max-attempts", "1", "--", "sh", "-c", "echo broken >&2; exit 7"});
  add(dir, {"--id", "slow", "--timeout", "1", "--max-attempts", "1", "--", "sleep", "30"});
  DslRun r = run_dsl({"agent", "run", "-c", dir, "--id", "t1", "--exit-when-idle"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("agent t1 stopped"), std::string::npos) << r.out;

  nlohmann::json ok = read_json(d / "completed_ok.json");
  EXPECT_EQ(ok["status"], "completed");
  EXPECT_EQ(ok["exit_code"], 0);
  EXPECT_TRUE(ok["duration_ms"].is_number());
  EXPECT_EQ(ok["agent"], "t1");
  nlohmann::json bad = read_json(d / "completed_bad.json");
  EXPECT_EQ(bad["status"], "failed");
  EXPECT_EQ(bad["exit_code"], 7);
  EXPECT_NE(bad.dump().find("broken"), std::string::npos) << bad.dump();
  nlohmann::json slow = read_json(d / "completed_slow.json");
  EXPECT_EQ(slow["status"], "failed");
  EXPECT_NE(slow["error"].get<std::string>().find("timed out"), std::string::npos);
  EXPECT_EQ(count_prefix(d.path(), "telemetry_"), 3u);
  EXPECT_EQ(count_prefix(d.path(), "work_"), 0u);
  EXPECT_EQ(read_json(d / "agent_t1.json")["status"], "stopped");

  DslRun status = run_dsl({"--json", "auto", "status", "-c", dir});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  EXPECT_EQ(status.json()["data"]["status"]["work_queue_size"], 0);
  EXPECT_EQ(status.json()["data"]["status"]["telemetry_volume"], 3);
}

TEST(CliAgent, SigtermMidItemStopsCleanly) {
  TempDir d;
  const std::string dir = d.path().string();
  add(dir, {"--id", "long", "--", "sleep", "30"});
  DslProcess agent(
      {"agent", "run", "-c", dir, "--id", "t2", "--grace", "0.3", "--heartbeat", "0.2"});
  ASSERT_TRUE(wait_for([&] {
    nlohmann::json a = read_json(d / "agent_t2.json");
    return a.is_object() && a["status"] == "busy" && a["current_work"] == "long";
  })) << agent.err();
  auto t0 = std::chrono::steady_clock::now();
  agent.signal(SIGTERM);
  EXPECT_EQ(agent.wait(), 0) << agent.err();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  EXPECT_EQ(read_json(d / "agent_t2.json")["status"], "stopped");
  nlohmann::json item = read_json(d / "work_long.json");
  EXPECT_EQ(item["status"], "pending") << item.dump();
  EXPECT_FALSE(fs::exists(d / "completed_long.json"));
}

TEST(CliAgent, SigintLetsAShortItemFinish) {
  TempDir d;
  const std::string dir = d.path().string();
  add(dir, {"--id", "short", "--", "sleep", "1.5"});
  DslProcess agent({"agent", "run", "-c", dir, "--id", "t3"});
  ASSERT_TRUE(wait_for([&] {
    // The file moves under archive/ once the item is done: read it only while it is there.
    const nlohmann::json w = read_json(d / "work_short.json");
    return w.is_object() && w.value("status", "") == "claimed";
  }));
  agent.signal(SIGINT);
  EXPECT_EQ(agent.wait(), 0) << agent.err();
  EXPECT_EQ(read_json(d / "completed_short.json")["status"], "completed");
  EXPECT_EQ(read_json(d / "agent_t3.json")["status"], "stopped");
}

TEST(CliAgent, InjectionAttemptsRunLiterally) {
  TempDir d;
  const std::string dir = d.path().string();
  const fs::path x = d / "X";
  add(dir, {"--id", "inj", "--", "echo", "$(touch " + x.string() + ")", "; rm -rf /",
            "`touch " + x.string() + "`"});
  // A string command, as a hostile writer would put it in the file directly.
  write_file(d / "work_str.json",
             R"({"id":"str","status":"pending","max_attempts":1,"command":"touch )" + x.string() +
                 R"(; echo"})");
  DslRun r = run_dsl({"agent", "run", "-c", dir, "--id", "t4", "--exit-when-idle"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(fs::exists(x));
  nlohmann::json inj = read_json(d / "completed_inj.json");
  EXPECT_EQ(inj["status"], "completed");
  EXPECT_NE(inj.dump().find("$(touch " + x.string() + ") ; rm -rf / `touch"), std::string::npos)
      << inj.dump();
  nlohmann::json str = read_json(d / "completed_str.json");
  EXPECT_EQ(str["status"], "failed");
  EXPECT_EQ(str["error"], "command must be an array of strings (argv), not run");
}

TEST(CliAgent, PromptHandlerGetsThePromptOnStdin) {
  TempDir d;
  const std::string dir = d.path().string();
  add(dir, {"--id", "p", "--prompt", "shout this"});
  DslRun r = run_dsl({"agent", "run", "-c", dir, "--exit-when-idle", "--prompt-handler", "tr",
                      "--prompt-handler", "a-z", "--prompt-handler", "A-Z"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json p = read_json(d / "completed_p.json");
  EXPECT_EQ(p["status"], "completed");
  EXPECT_NE(p.dump().find("SHOUT THIS"), std::string::npos) << p.dump();
}

TEST(CliAgent, MissingDirectoryAndBadFlags) {
  DslRun r = run_dsl({"agent", "run", "-c", "/nonexistent/coord", "--exit-when-idle"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("coordination directory not found: /nonexistent/coord"), std::string::npos);
  TempDir d;
  EXPECT_EQ(run_dsl({"agent", "run", "-c", d.path().string(), "--poll-ms", "x"}).exit_code, 2);
  EXPECT_EQ(run_dsl({"agent", "run", "-c", d.path().string(), "--heartbeat", "0"}).exit_code, 2);
  EXPECT_EQ(run_dsl({"agent", "run", "-c", d.path().string(), "--id", "../x"}).exit_code, 2);
  EXPECT_TRUE(fs::is_empty(d.path()));
  DslRun help = run_dsl({"agent", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("run"), std::string::npos);
}

TEST(CliAgent, JsonSummaryEnvelope) {
  TempDir d;
  const std::string dir = d.path().string();
  add(dir, {"--", "true"});
  DslRun r = run_dsl({"--json", "agent", "run", "-c", dir, "--id", "t5", "--exit-when-idle"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json env = r.json();
  EXPECT_EQ(env["command"], "agent-run");
  EXPECT_EQ(env["data"]["id"], "t5");
  EXPECT_EQ(env["data"]["stats"]["completed"], 1);
}

}  // namespace
}  // namespace dslmodel::testing

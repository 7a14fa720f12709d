// The whole loop on one machine: work arrives, the loop starts real agents through the process
// supervisor, the queue drains, agents are stopped, a killed agent is replaced and its item
// picked up again, a rollback stops exactly the agents a scale-up started.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "dslmodel/time.h"
#include "e2e/swarm_files.h"
#include "integration/dsl_runner.h"

namespace dslmodel::testing {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

// Short delays for tests; the defaults stay as docs/policy.md says.
fs::path write_config(const TempDir& d, int min_agents = 1) {
  const std::string cfg = R"([policy]
min_agents = )" + std::to_string(min_agents) +
                          R"(
max_agents = 10
cooldown = 1
scale_down_delay = 2
scale_down_window = 3
agent_timeout = 3
)" + fast_agents_toml();
  write_file(d / "dsl.toml", cfg);
  return d / "dsl.toml";
}

bool alive(int pid) { return pid > 0 && kill(pid, 0) == 0; }

// Stops every agent the test's supervisor started.
void stop_agents(const TempDir& d) {
  for (const auto& [id, pid] : supervised(d)) {
    if (alive(pid)) kill(pid, SIGKILL);
  }
}

TEST(Swarm, ScalesUpDrainsTheQueueExactlyOnceAndScalesBackDown) {
  TempDir d;
  for (int i = 0; i < 200; ++i) add_item(d, "item" + std::to_string(i), R"(["sleep", "0.05"])");
  auto cfg = write_config(d);
  DslProcess loop(
      {"--config", cfg.string(), "auto", "loop", "--interval", "0.5", "-c", d.path().string()});
  std::size_t most = 0;
  bool drained = wait_until(
      [&] {
        most = std::max(most, supervised(d).size());
        return count_prefix(d, "completed_") == 200 && count_prefix(d, "work_") == 0;
      },
      180s);
  EXPECT_TRUE(drained) << loop.out() << loop.err();
  const bool scaled_down = wait_until(
      [&] {
        most = std::max(most, supervised(d).size());
        return supervised(d).size() == 1;
      },
      60s);
  loop.signal(SIGTERM);
  EXPECT_EQ(loop.wait(), 0) << loop.err();
  stop_agents(d);
  EXPECT_TRUE(scaled_down) << "agents left: " << supervised(d).size() << "\n" << loop.out();
  EXPECT_GT(most, 3u) << "the loop scaled up";
  EXPECT_LE(most, 10u) << "never above max_agents";
  std::set<std::string> ids;
  for (const auto& e : fs::directory_iterator(d.path())) {
    const std::string name = e.path().filename().string();
    if (!name.starts_with("completed_")) continue;
    nlohmann::json c = read_json(e.path());
    EXPECT_EQ(c["status"], "completed") << name;
    EXPECT_TRUE(ids.insert(c["id"].get<std::string>()).second) << "twice: " << name;
  }
  EXPECT_EQ(ids.size(), 200u);
  DslRun h = run_dsl({"--json", "auto", "history", "--limit", "1000", "-c", d.path().string()});
  EXPECT_NE(h.out.find("scale_up"), std::string::npos);
  EXPECT_NE(h.out.find("scale_down"), std::string::npos);
}

TEST(Swarm, KilledAgentIsReplacedAndItsItemCompletedOnce) {
  TempDir d;
  add_item(d, "slow", R"(["sleep", "3"])");
  auto cfg = write_config(d);
  DslProcess loop(
      {"--config", cfg.string(), "auto", "loop", "--interval", "0.5", "-c", d.path().string()});
  std::string victim_id;
  int victim_pid = 0;
  ASSERT_TRUE(wait_until(
      [&] {
        for (const auto& [id, pid] : supervised(d)) {
          nlohmann::json a = read_json(d / ("agent_" + id + ".json"));
          if (a.is_object() && a.value("current_work", "") == "slow") {
            victim_id = id;
            victim_pid = pid;
            return true;
          }
        }
        return false;
      },
      60s))
      << loop.err();
  ASSERT_EQ(kill(victim_pid, SIGKILL), 0);
  const bool done = wait_until([&] { return fs::exists(d / "completed_slow.json"); }, 90s);
  const auto agents = supervised(d);
  loop.signal(SIGTERM);
  EXPECT_EQ(loop.wait(), 0);
  stop_agents(d);
  ASSERT_TRUE(done) << loop.out() << loop.err();
  nlohmann::json c = read_json(d / "completed_slow.json");
  EXPECT_EQ(c["status"], "completed");
  EXPECT_NE(c["agent"], victim_id) << "picked up again by another agent";
  EXPECT_FALSE(agents.contains(victim_id)) << "the dead agent is no longer supervised";
  EXPECT_FALSE(agents.empty()) << "and was replaced";
  EXPECT_EQ(count_prefix(d, "completed_"), 1);
}

TEST(Swarm, ARestartedLoopAdoptsItsAgentsWithoutStartingMore) {
  TempDir d;
  for (int i = 0; i < 30; ++i) add_item(d, "w" + std::to_string(i), R"(["sleep", "30"])");
  auto cfg = write_config(d);
  std::map<std::string, int> before;
  {
    DslProcess loop(
        {"--config", cfg.string(), "auto", "loop", "--interval", "0.3", "-c", d.path().string()});
    ASSERT_TRUE(wait_until([&] { return supervised(d).size() >= 3; }, 60s)) << loop.err();
    loop.signal(SIGTERM);
    EXPECT_EQ(loop.wait(), 0);
    before = supervised(d);
  }
  for (const auto& [id, pid] : before) EXPECT_TRUE(alive(pid)) << id << " outlives the loop";
  // A new loop within the cooldown: it adopts the same processes and starts none.
  DslRun again = run_dsl(
      {"--config", cfg.string(), "auto", "loop", "--max-cycles", "1", "-c", d.path().string()});
  EXPECT_EQ(again.exit_code, 0) << again.err;
  const auto after = supervised(d);
  stop_agents(d);
  EXPECT_EQ(after, before) << again.out;
}

TEST(Swarm, FiftyAgentsRaceOverAThousandItemsEachCompletedOnce) {
  TempDir d;
  for (int i = 0; i < 1000; ++i) add_item(d, "r" + std::to_string(i), R"(["true"])");
  // A reader that parses every file it sees while the agents work: none may ever be torn.
  std::atomic<bool> stop{false};
  std::atomic<long> seen{0};
  std::atomic<long> torn{0};
  std::thread reader([&] {
    while (!stop) {
      std::error_code ec;
      for (const auto& e : fs::directory_iterator(d.path(), ec)) {
        const std::string name = e.path().filename().string();
        if (name.starts_with(".") || !name.ends_with(".json")) continue;
        std::ifstream in(e.path(), std::ios::binary);
        if (!in) continue;  // moved away meanwhile
        std::stringstream ss;
        ss << in.rdbuf();
        ++seen;
        if (!nlohmann::json::parse(ss.str(), nullptr, false).is_object()) {
          ++torn;
          ADD_FAILURE() << "torn read of " << name << ": " << ss.str();
        }
      }
    }
  });
  std::vector<std::unique_ptr<DslProcess>> agents;
  for (int i = 0; i < 50; ++i) {
    agents.push_back(std::make_unique<DslProcess>(
        std::vector<std::string>{"agent", "run", "--id", "racer" + std::to_string(i),
                                 "--exit-when-idle", "--poll-ms", "20", "-c", d.path().string()}));
  }
  for (auto& a : agents) EXPECT_EQ(a->wait(), 0) << a->err();
  stop = true;
  reader.join();
  EXPECT_GT(seen.load(), 1000);
  EXPECT_EQ(torn.load(), 0);
  std::set<std::string> ids;
  for (const auto& e : fs::directory_iterator(d.path())) {
    const std::string name = e.path().filename().string();
    if (!name.starts_with("completed_")) continue;
    nlohmann::json c = read_json(e.path());
    EXPECT_EQ(c["status"], "completed") << name;
    EXPECT_TRUE(ids.insert(c["id"].get<std::string>()).second) << "twice: " << name;
  }
  EXPECT_EQ(ids.size(), 1000u) << "none lost";
  EXPECT_EQ(count_prefix(d, "work_"), 0);
}

TEST(Swarm, RollbackOfAScaleUpStopsExactlyTheAgentsItStarted) {
  TempDir d;
  for (int i = 0; i < 20; ++i) add_item(d, "w" + std::to_string(i), R"(["sleep", "30"])");
  auto cfg = write_config(d);
  // An agent the supervisor does not own.
  DslProcess outsider(
      {"agent", "run", "--id", "outsider", "--heartbeat", "1", "-c", d.path().string()});
  ASSERT_TRUE(wait_until([&] { return fs::exists(d / "agent_outsider.json"); }, 30s));
  DslRun ex =
      run_dsl({"--config", cfg.string(), "--json", "auto", "execute", "-c", d.path().string()});
  ASSERT_EQ(ex.exit_code, 0) << ex.err << ex.out;
  std::string scale_id;
  const nlohmann::json report = ex.json();
  for (const auto& e : report["data"]["executed"]) {
    if (e["type"] == "scale_up") scale_id = e["decision_id"];
  }
  ASSERT_FALSE(scale_id.empty()) << ex.out;
  const auto started = supervised(d);
  ASSERT_FALSE(started.empty());
  DslRun rb =
      run_dsl({"--config", cfg.string(), "auto", "rollback", scale_id, "-c", d.path().string()});
  EXPECT_EQ(rb.exit_code, 0) << rb.err;
  for (const auto& [id, pid] : started) {
    EXPECT_TRUE(wait_until([pid = pid] { return !alive(pid); }, 15s)) << id << " still runs";
  }
  EXPECT_TRUE(alive(outsider.pid())) << "the outsider is untouched";
  outsider.signal(SIGTERM);
  EXPECT_EQ(outsider.wait(), 0);
  stop_agents(d);
}

}  // namespace
}  // namespace dslmodel::testing

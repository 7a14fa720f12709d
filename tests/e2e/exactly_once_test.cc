// Exactly once, counted on the side effects: real `dsl agent run` processes are killed with
// SIGKILL while their items run, `dsl auto loop` requeues the dead agents' claims, new agents
// finish the queue, and every item's command must have appended its line exactly once
// (docs/agents.md, "Exactly once").
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <thread>
#include <vector>

#include "e2e/swarm_files.h"
#include "integration/dsl_runner.h"

namespace dslmodel::testing {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

// Lines of `file`, counted.
std::map<std::string, int> count_lines(const fs::path& file) {
  std::map<std::string, int> out;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) ++out[line];
  }
  return out;
}

// The agent ids whose record says they are running an item now.
std::vector<std::string> busy_agents(const TempDir& d, const std::map<std::string, int>& live) {
  std::vector<std::string> out;
  for (const auto& [id, pid] : live) {
    nlohmann::json a = read_json(d / ("agent_" + id + ".json"));
    if (a.is_object() && !a.value("current_work", "").empty()) out.push_back(id);
  }
  return out;
}

// The item's line is appended by a grandchild (a subshell the shell waits for), after a sleep
// that a kill lands in: killing only the agent's direct child would leave it running.
std::string appending_command(const fs::path& lines, const std::string& id) {
  const std::string script = "(sleep 2; echo " + id + " >> " + lines.string() + ") & wait";
  return nlohmann::json::array({"sh", "-c", script}).dump();
}

TEST(ExactlyOnce, AgentsKilledMidRunNeverRunAnItemTwice) {
  TempDir d;
  const fs::path lines = d / "lines.txt";
  constexpr int kItems = 24;
  constexpr int kKills = 8;
  for (int i = 0; i < kItems; ++i) {
    const std::string id = "once" + std::to_string(i);
    add_item(d, id, appending_command(lines, id));
  }
  // A short agent timeout: a killed agent's claim is requeued about two seconds after its last
  // heartbeat, while its item's sleep would still be running.
  write_file(d / "dsl.toml", R"([policy]
agent_timeout = 2
[actuator]
kind = "none"
)");
  DslProcess loop({"--config", (d / "dsl.toml").string(), "auto", "loop", "--interval", "0.5", "-c",
                   d.path().string()});
  std::map<std::string, std::unique_ptr<DslProcess>> agents;
  int started = 0;
  auto start_agent = [&] {
    const std::string id = "a" + std::to_string(started++);
    agents[id] = std::make_unique<DslProcess>(
        std::vector<std::string>{"agent", "run", "--id", id, "--heartbeat", "0.5", "--poll-ms",
                                 "50", "-c", d.path().string()});
  };
  for (int i = 0; i < 3; ++i) start_agent();
  int kills = 0;
  const auto kill_deadline = std::chrono::steady_clock::now() + 120s;
  while (kills < kKills && std::chrono::steady_clock::now() < kill_deadline) {
    std::map<std::string, int> live;
    for (const auto& [id, p] : agents) live[id] = p->pid();
    const std::vector<std::string> busy = busy_agents(d, live);
    if (busy.empty()) {
      std::this_thread::sleep_for(100ms);
      continue;
    }
    std::this_thread::sleep_for(300ms);  // into the item's sleep
    agents.at(busy.front())->signal(SIGKILL);
    EXPECT_EQ(agents.at(busy.front())->wait(), 128 + SIGKILL);
    agents.erase(busy.front());
    ++kills;
    start_agent();
  }
  EXPECT_EQ(kills, kKills) << "agents were busy to be killed";
  const bool drained = wait_until(
      [&] { return count_prefix(d, "completed_") == kItems && count_prefix(d, "work_") == 0; },
      180s);
  // An orphaned grandchild would append its line within its sleep: give it the time.
  std::this_thread::sleep_for(3s);
  for (auto& [id, p] : agents) p->signal(SIGTERM);
  for (auto& [id, p] : agents) EXPECT_EQ(p->wait(), 0) << id << p->err();
  loop.signal(SIGTERM);
  EXPECT_EQ(loop.wait(), 0) << loop.err();
  ASSERT_TRUE(drained) << count_prefix(d, "completed_") << " completed\n" << loop.err();
  const std::map<std::string, int> seen = count_lines(lines);
  int duplicates = 0;
  for (int i = 0; i < kItems; ++i) {
    const std::string id = "once" + std::to_string(i);
    const auto it = seen.find(id);
    const int n = it == seen.end() ? 0 : it->second;
    if (n > 1) duplicates += n - 1;
    EXPECT_EQ(n, 1) << id << " ran " << n << " times";
  }
  std::cout << "exactly-once: " << kItems << " items, " << kills << " agents killed mid-run, "
            << duplicates << " duplicate runs\n";
}

}  // namespace
}  // namespace dslmodel::testing

// The swarm on etcd across "hosts": one `dsl auto loop` engine on the etcd store scales the agent
// count, two `dsl agent pool` processes (as on two machines) split it and run real `dsl agent
// run` agents, and 1,000 items are each completed exactly once while a reader checks that every
// record it sees in etcd is whole.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <thread>

#include "dslmodel/time.h"
#include "etcd/client.h"
#include "etcd_server.h"
#include "integration/dsl_runner.h"

namespace dslmodel::testing {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

constexpr int kItems = 1000;
const std::string kPrefix = "/swarm";

// Live processes among the pids a pool's supervisor recorded.
std::vector<int> live_agents(const fs::path& state_dir) {
  std::vector<int> out;
  nlohmann::json s = nlohmann::json::parse(slurp(state_dir / "supervisor.json"), nullptr, false);
  if (!s.is_object() || !s.contains("agents")) return out;
  for (const auto& a : s["agents"]) {
    const int pid = a.value("pid", 0);
    if (pid > 0 && ::kill(pid, 0) == 0) out.push_back(pid);
  }
  return out;
}

std::int64_t count(etcd::Client& c, const std::string& dir) {
  const std::string k = kPrefix + dir;
  auto r = c.range(k, {.range_end = etcd::prefix_end(k), .count_only = true});
  return r.ok() ? r->count : -1;
}

TEST(EtcdSwarm, TwoPoolsRunTheEnginesAgentsAndEveryItemCompletesOnce) {
  auto etcd = EtcdServer::start();
  ASSERT_TRUE(etcd);
  TempDir d;
  const std::string url = etcd->store_url(kPrefix.substr(1));
  etcd::Client client({etcd->endpoint()});
  const std::string created = format_iso8601(std::chrono::system_clock::now());
  for (int i = 0; i < kItems; ++i) {
    const std::string id = "r" + std::to_string(i);
    ASSERT_TRUE(client
                    .put(kPrefix + "/work/" + id,
                         R"({"id":")" + id + R"(","status":"pending","priority":0,"created":")" +
                             created + R"(","attempts":0,"max_attempts":3,"command":["true"]})")
                    .ok());
  }
  // The engine adds up to 20 agents a cycle while the queue is critical.
  write_file(d / "dsl.toml", R"([policy]
min_agents = 1
max_agents = 20
critical_scale_step = 20
degraded_scale_step = 20
cooldown = 1
scale_down_delay = 600
agent_timeout = 5
[actuator]
timeout = 2
)");
  const std::string cfg = (d / "dsl.toml").string();
  std::vector<std::unique_ptr<DslProcess>> pools;
  for (const std::string id : {"pa", "pb"}) {
    pools.push_back(std::make_unique<DslProcess>(
        std::vector<std::string>{"--store", url, "--config", cfg, "agent", "pool", "--id", id,
                                 "--interval", "0.2", "--state-dir", (d / id).string()}));
  }
  // A reader that parses every record it sees while the agents work: none may ever be torn.
  std::atomic<bool> stop{false};
  std::atomic<long> seen{0};
  std::atomic<long> torn{0};
  std::thread reader([&] {
    etcd::Client mine({etcd->endpoint()});
    while (!stop) {
      auto r = mine.range(kPrefix + "/", {.range_end = etcd::prefix_end(kPrefix + "/")});
      if (!r.ok()) continue;
      for (const auto& kv : r->kvs) {
        ++seen;
        if (!nlohmann::json::parse(kv.value, nullptr, false).is_object()) {
          ++torn;
          ADD_FAILURE() << "torn read of " << kv.key << ": " << kv.value;
        }
      }
      std::this_thread::sleep_for(50ms);
    }
  });
  DslProcess loop({"--store", url, "--config", cfg, "auto", "loop", "--interval", "0.5",
                   "--metrics-addr", "off", "-c", d.path().string()});
  const auto deadline = std::chrono::steady_clock::now() + 240s;
  std::map<std::string, std::size_t> most_agents;  // pool → the most live agents seen
  while (count(client, "/completed/") < kItems && std::chrono::steady_clock::now() < deadline) {
    for (const std::string id : {"pa", "pb"}) {
      most_agents[id] = std::max(most_agents[id], live_agents(d / id).size());
    }
    std::this_thread::sleep_for(200ms);
  }
  stop = true;
  reader.join();
  loop.signal(SIGTERM);
  EXPECT_EQ(loop.wait(), 0) << loop.err();
  for (auto& p : pools) {
    p->signal(SIGTERM);
    EXPECT_EQ(p->wait(), 0) << p->err();
  }
  // Each pool ran agents, and stopped them all when it was stopped.
  for (const std::string id : {"pa", "pb"}) {
    EXPECT_GE(most_agents[id], 2u) << id;
    EXPECT_TRUE(live_agents(d / id).empty()) << id;
  }
  EXPECT_GT(seen.load(), kItems);
  EXPECT_EQ(torn.load(), 0);

  auto done = client.range(kPrefix + "/completed/",
                           {.range_end = etcd::prefix_end(kPrefix + "/completed/")});
  ASSERT_TRUE(done.ok());
  std::set<std::string> ids;
  std::set<std::string> pools_that_worked;
  for (const auto& kv : done->kvs) {
    nlohmann::json c = nlohmann::json::parse(kv.value, nullptr, false);
    EXPECT_EQ(c["status"], "completed") << kv.key;
    EXPECT_TRUE(ids.insert(c.value("id", "")).second) << "twice: " << kv.key;
    const std::string agent = c.value("agent", "");
    pools_that_worked.insert(agent.substr(0, 2));
  }
  EXPECT_EQ(ids.size(), static_cast<std::size_t>(kItems)) << "none lost";
  EXPECT_EQ(count(client, "/work/"), 0);
  EXPECT_EQ(pools_that_worked, (std::set<std::string>{"pa", "pb"}));
}

}  // namespace
}  // namespace dslmodel::testing

// `dsl agent pool` on a real etcd: two pools share the desired agent count, follow it up and
// down, and one pool's share moves to the other when it stops. Every agent a pool started is
// gone at the end.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "dslmodel/clock.h"
#include "dslmodel/config.h"
#include "etcd/client.h"
#include "etcd_server.h"
#include "factory/actuator_factory.h"
#include "integration/dsl_runner.h"
#include "store/etcd_pool.h"

namespace dslmodel::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr auto kDeadline = 60s;

bool wait_for(const std::function<bool()>& cond, std::chrono::milliseconds limit = kDeadline) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (cond()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return cond();
}

bool alive(pid_t pid) { return pid > 0 && ::kill(pid, 0) == 0; }

// id → pid of the agents a pool's supervisor has recorded in <state dir>/supervisor.json.
std::map<std::string, pid_t> recorded_agents(const fs::path& state_dir) {
  std::map<std::string, pid_t> out;
  const auto j = nlohmann::json::parse(slurp(state_dir / "supervisor.json"), nullptr, false);
  if (!j.is_object() || !j.contains("agents") || !j["agents"].is_array()) return out;
  for (const auto& a : j["agents"]) {
    if (a.contains("id") && a.contains("pid") && a["pid"].is_number_integer()) {
      out[a["id"].get<std::string>()] = a["pid"].get<pid_t>();
    }
  }
  return out;
}

class CliPool : public ::testing::Test {
 protected:
  void SetUp() override {
    etcd_ = EtcdServer::start();
    ASSERT_TRUE(etcd_);
    url_ = etcd_->store_url("pooltest");
    client_ = std::make_unique<etcd::Client>(std::vector<std::string>{etcd_->endpoint()});
    pool_ = std::make_unique<store::EtcdPool>(*client_, "/pooltest", clock_);
    // Agents get a short grace; everything else is the default.
    write_file(dir_ / "dsl.toml", "[actuator]\nagent_grace = 5\n");
  }

  void TearDown() override {
    // Pools still running are stopped the way an operator would (they stop their agents).
    for (auto& [id, p] : pools_) {
      if (p && !exited_.contains(id)) {
        p->signal(SIGTERM);
        p->wait();
      }
    }
    pools_.clear();
    // Whatever a failed test left behind is killed, so no agent outlives the test.
    remember_agents();
    for (pid_t pid : seen_pids_) {
      if (alive(pid)) ::kill(pid, SIGKILL);
    }
    if (etcd_) etcd_->stop();
  }

  fs::path state_dir(const std::string& id) const { return dir_ / ("state-" + id); }

  void start_pool(const std::string& id, const std::string& config = "dsl.toml") {
    pools_[id] = std::make_unique<DslProcess>(std::vector<std::string>{
        "--config", (dir_ / config).string(), "--store", url_, "agent", "pool", "--id", id,
        "--interval", "0.2", "--state-dir", state_dir(id).string()});
    ASSERT_GT(pools_[id]->pid(), 0);
  }

  // Stops a pool with SIGTERM; returns its exit code.
  int stop_pool(const std::string& id) {
    remember_agents();
    pools_[id]->signal(SIGTERM);
    const int code = pools_[id]->wait();
    exited_.insert(id);
    return code;
  }

  void remember_agents() {
    for (const char* id : {"a", "b"}) {
      for (const auto& [agent, pid] : recorded_agents(state_dir(id))) seen_pids_.insert(pid);
    }
  }

  std::map<std::string, store::PoolMember> members() {
    std::map<std::string, store::PoolMember> out;
    auto m = pool_->members();
    if (!m.ok()) return out;
    for (auto& x : *m) out[x.id] = x;
    return out;
  }

  // The pool `id` reports `running` agents with share `share`, and exactly those agents are
  // recorded by its supervisor and alive.
  bool pool_runs(const std::string& id, int running, int share) {
    auto ms = members();
    auto it = ms.find(id);
    if (it == ms.end() || it->second.running != running || it->second.share != share) return false;
    const auto recorded = recorded_agents(state_dir(id));
    if (static_cast<int>(recorded.size()) != running) return false;
    for (const auto& agent : it->second.agents) {
      auto r = recorded.find(agent);
      if (r == recorded.end() || !alive(r->second)) return false;
      if (!agent.starts_with(id + "-")) return false;
    }
    remember_agents();
    return static_cast<int>(it->second.agents.size()) == running;
  }

  std::string logs() const {
    std::string s;
    for (const auto& [id, p] : pools_) {
      if (p) s += "--- pool " + id + " stdout:\n" + p->out() + "--- stderr:\n" + p->err();
    }
    return s;
  }

  TempDir dir_;
  SystemClock clock_;
  std::unique_ptr<EtcdServer> etcd_;
  std::string url_;
  std::unique_ptr<etcd::Client> client_;
  std::unique_ptr<store::EtcdPool> pool_;
  std::map<std::string, std::unique_ptr<DslProcess>> pools_;
  std::set<std::string> exited_;
  std::set<pid_t> seen_pids_;
};

TEST_F(CliPool, TwoPoolsShareTheDesiredCountAndTakeOverOnStop) {
  start_pool("a");
  start_pool("b");
  ASSERT_TRUE(wait_for([&] { return members().size() == 2; })) << logs();
  // No desired count yet: no agents.
  EXPECT_TRUE(pool_runs("a", 0, 0)) << logs();
  EXPECT_TRUE(pool_runs("b", 0, 0)) << logs();

  ASSERT_TRUE(pool_->set_desired(5, 0, "it-up").ok());
  ASSERT_TRUE(wait_for([&] { return pool_runs("a", 3, 3) && pool_runs("b", 2, 2); })) << logs();
  const auto first_agents = recorded_agents(state_dir("a"));

  ASSERT_TRUE(pool_->set_desired(1, 0, "it-down").ok());
  ASSERT_TRUE(wait_for([&] { return pool_runs("a", 1, 1) && pool_runs("b", 0, 0); })) << logs();
  // The agents stopped by the scale-down are gone (the pool reaped them).
  const auto kept = recorded_agents(state_dir("a"));
  for (const auto& [id, pid] : first_agents) {
    const pid_t stopped = pid;
    if (!kept.contains(id)) {
      EXPECT_TRUE(wait_for([stopped] { return !alive(stopped); }, 20s)) << id;
    }
  }

  ASSERT_TRUE(pool_->set_desired(3, 0, "it-spread").ok());
  ASSERT_TRUE(wait_for([&] { return pool_runs("a", 2, 2) && pool_runs("b", 1, 1); })) << logs();
  const auto a_agents = recorded_agents(state_dir("a"));
  ASSERT_EQ(a_agents.size(), 2U);

  EXPECT_EQ(stop_pool("a"), 0) << logs();
  for (const auto& [id, pid] : a_agents) EXPECT_FALSE(alive(pid)) << id << " outlived its pool";
  EXPECT_TRUE(recorded_agents(state_dir("a")).empty());
  EXPECT_NE(pools_["a"]->out().find("pool a stopped"), std::string::npos) << logs();
  ASSERT_TRUE(wait_for([&] { return !members().contains("a") && pool_runs("b", 3, 3); })) << logs();

  const std::string out_b = pools_["b"]->out();
  EXPECT_NE(out_b.find("pool b: running 3 of 3 desired"), std::string::npos) << out_b;
  EXPECT_EQ(stop_pool("b"), 0) << logs();
  EXPECT_TRUE(members().empty());
  for (pid_t pid : seen_pids_) EXPECT_FALSE(alive(pid)) << "agent " << pid << " still running";
}

TEST_F(CliPool, PoolActuatorSetsTheCountAndWaitsForThePools) {
  Config config;
  config.actuator.kind = ActuatorKind::kPool;
  config.actuator.timeout = 60s;
  auto dir_store = make_actuator(config, clock_);
  ASSERT_FALSE(dir_store.ok());
  EXPECT_EQ(dir_store.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(dir_store.status().message(),
            "actuator.kind \"pool\" needs an etcd store (--store etcd://...)");

  config.store.url = url_;
  auto made = make_actuator(config, clock_);
  ASSERT_TRUE(made.ok()) << made.status().message();
  Actuator& actuator = **made;
  EXPECT_EQ(actuator.name(), "pool");

  ScaleRequest req;
  req.current_agents = 0;
  req.target_agents = 2;
  req.decision_id = "d1";
  auto no_pool = actuator.scale(req);
  ASSERT_FALSE(no_pool.ok());
  EXPECT_EQ(no_pool.status().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(no_pool.status().message(),
            "no agent pool is running: start `dsl agent pool --store URL` on each host");
  auto untouched = pool_->desired();
  ASSERT_TRUE(untouched.ok());
  EXPECT_FALSE(untouched->has_value()) << "nothing may be written without a pool";

  start_pool("a");
  ASSERT_TRUE(wait_for([&] { return members().size() == 1; })) << logs();
  auto up = actuator.scale(req);
  ASSERT_TRUE(up.ok()) << up.status().message();
  EXPECT_EQ(up->summary, "desired agents set to 2: 2 running on 1 pool(s)");
  EXPECT_TRUE(up->inverse["pool_previous_target"].is_null()) << up->inverse;
  EXPECT_EQ(up->inverse["target"], 2);
  EXPECT_TRUE(pool_runs("a", 2, 2)) << logs();

  req.target_agents = 1;
  req.decision_id = "d2";
  auto down = actuator.scale(req);
  ASSERT_TRUE(down.ok()) << down.status().message();
  EXPECT_EQ(down->summary, "desired agents set to 1: 1 running on 1 pool(s)");
  EXPECT_EQ(down->inverse["pool_previous_target"], 2);

  auto undone = actuator.undo(down->inverse);
  ASSERT_TRUE(undone.ok()) << undone.status().message();
  EXPECT_EQ(undone->summary, "desired agents set back to 2: 2 running on 1 pool(s)");
  EXPECT_EQ(undone->inverse["pool_previous_target"], 1);
  auto now = pool_->desired();
  ASSERT_TRUE(now.ok() && now->has_value());
  EXPECT_EQ((*now)->target, 2);
  EXPECT_TRUE(pool_runs("a", 2, 2)) << logs();

  // An epoch that is not the leader's writes nothing.
  req.target_agents = 4;
  req.epoch = 424242;
  auto fenced = actuator.scale(req);
  ASSERT_FALSE(fenced.ok());
  EXPECT_EQ(fenced.status().code(), ErrorCode::kConflict);
  auto after = pool_->desired();
  ASSERT_TRUE(after.ok() && after->has_value());
  EXPECT_EQ((*after)->target, 2);

  EXPECT_FALSE(actuator.undo(nlohmann::json{{"kind", "process"}, {"started", {}}}).ok());
  EXPECT_EQ(stop_pool("a"), 0) << logs();
  for (pid_t pid : seen_pids_) EXPECT_FALSE(alive(pid)) << "agent " << pid << " still running";
}

// A configured agent_command ({store_url} and {agent_id} expanded) whose agents ignore SIGTERM:
// stopping one takes the whole grace, longer than the pool's lease, which must not lapse.
TEST_F(CliPool, StaysRegisteredWhileAStubbornAgentIsStopped) {
  write_file(dir_ / "stubborn.toml",
             "[engine]\nlease_ttl = 2\n"
             "[actuator]\nagent_grace = 5\n"
             "agent_command = [\"sh\", \"-c\", "
             "\"trap '' TERM; echo {store_url} {agent_id}; exec sleep 300\"]\n");
  start_pool("a", "stubborn.toml");
  ASSERT_TRUE(pool_->set_desired(1, 0, "it-one").ok());
  ASSERT_TRUE(wait_for([&] { return pool_runs("a", 1, 1); })) << logs();
  const auto agents = recorded_agents(state_dir("a"));
  ASSERT_EQ(agents.size(), 1U);
  const std::string& agent = agents.begin()->first;
  const fs::path log = state_dir("a") / ".dsl" / "logs" / (agent + ".log");
  EXPECT_TRUE(wait_for([&] { return slurp(log).find(url_ + " " + agent) != std::string::npos; }))
      << slurp(log);

  ASSERT_TRUE(pool_->set_desired(0, 0, "it-none").ok());
  const auto started = std::chrono::steady_clock::now();
  bool always_registered = true;
  ASSERT_TRUE(wait_for([&] {
    always_registered = always_registered && members().contains("a");
    return pool_runs("a", 0, 0);
  })) << logs();
  EXPECT_GE(std::chrono::steady_clock::now() - started, 4s) << "the agent ignored SIGTERM";
  EXPECT_TRUE(always_registered) << "the pool's record vanished during a long stop\n" << logs();
  EXPECT_FALSE(alive(agents.begin()->second));
  EXPECT_EQ(stop_pool("a"), 0) << logs();
}

TEST_F(CliPool, RefusesADirectoryStore) {
  DslRun r = run_dsl({"-c", dir_.path().string(), "agent", "pool", "--id", "x"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("agent pool needs an etcd store: pass --store etcd://host:port/prefix"),
            std::string::npos)
      << r.err;
}

TEST_F(CliPool, RejectsABadId) {
  DslRun r = run_dsl(
      {"--store", url_, "agent", "pool", "--id", "a/b", "--state-dir", (dir_ / "s").string()});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("--id"), std::string::npos) << r.err;
}

TEST_F(CliPool, HelpDescribesTheShare) {
  DslRun r = run_dsl({"agent", "pool", "--help"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  for (const char* s : {"--max-agents", "--state-dir", "--interval", "--id", "desired / n"}) {
    EXPECT_NE(r.out.find(s), std::string::npos) << s << "\n" << r.out;
  }
}

}  // namespace
}  // namespace dslmodel::testing

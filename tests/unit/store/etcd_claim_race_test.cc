// Many agents on one etcd: 16 threads, each with its own client and queue, claim and finish 1,000
// items until none is left, and every item is completed exactly once; and claims held by an agent
// that died are requeued by the engine (EtcdStore::apply) and finished by the others exactly once.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "dslmodel/policy.h"
#include "etcd/client.h"
#include "etcd_server.h"
#include "store/etcd_keys.h"
#include "store/etcd_store.h"
#include "store/etcd_work_queue.h"
#include "store/work_item.h"

namespace dslmodel::store {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

// What one agent thread did.
struct AgentRun {
  std::vector<std::string> finished;  // ids finished with kCompleted
  std::vector<std::string> errors;
};

class EtcdClaimRaceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = dslmodel::testing::EtcdServer::start(); }
  static void TearDownTestSuite() { server_.reset(); }

  void SetUp() override {
    ASSERT_TRUE(server_) << "etcd did not start";
    static std::atomic<int> n{0};
    prefix_ = fmt::format("/race-test-{}-{}", ::getpid(), ++n);
    client_ = new_client();
  }

  static std::shared_ptr<etcd::Client> new_client() {
    etcd::Options opt;
    opt.request_timeout = 20s;  // generous: 16 agents share 2 cores with etcd, under sanitizers
    return std::make_shared<etcd::Client>(std::vector<std::string>{server_->endpoint()}, opt);
  }

  // Adds items "0".."n-1" as EtcdWorkQueue::add writes them, 100 per transaction.
  void add_items(int n) {
    std::vector<etcd::TxnOp> ops;
    const TimePoint now = std::chrono::system_clock::now();
    for (int i = 0; i < n; ++i) {
      NewWork w;
      w.command = {"true"};
      w.priority = i % 3;
      const std::string id = std::to_string(i);
      ops.push_back(etcd::TxnOp::put(etcd_dir_prefix(prefix_, kEtcdWorkDir) + id,
                                     detail::new_work_record(id, w, now).dump()));
      if (ops.size() == 100 || i == n - 1) {
        ASSERT_TRUE(client_->txn({}, ops).ok());
        ops.clear();
      }
    }
  }

  std::size_t count(std::string_view dir) {
    Result<std::vector<etcd::KeyValue>> kvs =
        detail::range_all(*client_, etcd_dir_prefix(prefix_, dir), 0, nullptr, true);
    EXPECT_TRUE(kvs.ok());
    return kvs.ok() ? kvs->size() : 0;
  }

  // Claims and finishes until `done` says stop; waits for work when the queue looks empty.
  AgentRun run_agent(const std::string& id, const std::function<bool()>& done) {
    EtcdWorkQueue q(new_client(), prefix_);
    AgentRun run;
    while (!done()) {
      Result<std::optional<WorkItem>> w = q.claim_next(id, 300s);
      if (!w.ok()) {
        run.errors.push_back("claim: " + w.status().message());
        break;
      }
      if (!w->has_value()) {
        q.wait_for_work(200ms, {});
        continue;
      }
      Result<FinishOutcome> fin = q.finish(**w, id, Completion{true, 0, 1, "", ""});
      if (fin.ok() && *fin == FinishOutcome::kCompleted) {
        run.finished.push_back((*w)->id);
      } else {
        run.errors.push_back(fmt::format("finish {}: {}", (*w)->id,
                                         fin.ok() ? "not completed" : fin.status().message()));
      }
    }
    return run;
  }

  static std::unique_ptr<dslmodel::testing::EtcdServer> server_;
  std::string prefix_;
  std::shared_ptr<etcd::Client> client_;
};

std::unique_ptr<dslmodel::testing::EtcdServer> EtcdClaimRaceTest::server_;

TEST_F(EtcdClaimRaceTest, SixteenAgentsCompleteAThousandItemsExactlyOnce) {
  constexpr int kItems = 1000;
  constexpr int kAgents = 16;
  add_items(kItems);
  ASSERT_EQ(count(kEtcdWorkDir), static_cast<std::size_t>(kItems));

  std::vector<AgentRun> runs(kAgents);
  std::vector<std::thread> threads;
  threads.reserve(kAgents);
  for (int a = 0; a < kAgents; ++a) {
    threads.emplace_back([&, a] {
      // Until the queue is empty: one claim that finds nothing pending ends the agent.
      EtcdWorkQueue q(new_client(), prefix_);
      const std::string id = "agent-" + std::to_string(a);
      for (;;) {
        Result<std::optional<WorkItem>> w = q.claim_next(id, 300s);
        if (!w.ok()) {
          runs[a].errors.push_back("claim: " + w.status().message());
          return;
        }
        if (!w->has_value()) return;
        Result<FinishOutcome> fin = q.finish(**w, id, Completion{true, 0, 1, "", ""});
        if (fin.ok() && *fin == FinishOutcome::kCompleted) {
          runs[a].finished.push_back((*w)->id);
        } else {
          runs[a].errors.push_back(fmt::format(
              "finish {}: {}", (*w)->id, fin.ok() ? "not completed" : fin.status().message()));
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();

  std::multiset<std::string> finished;
  int busy_agents = 0;
  for (const AgentRun& r : runs) {
    EXPECT_TRUE(r.errors.empty()) << r.errors.front();
    finished.insert(r.finished.begin(), r.finished.end());
    if (!r.finished.empty()) ++busy_agents;
  }
  EXPECT_EQ(finished.size(), static_cast<std::size_t>(kItems));
  for (int i = 0; i < kItems; ++i) {
    EXPECT_EQ(finished.count(std::to_string(i)), 1u) << "item " << i;
  }
  EXPECT_GT(busy_agents, 1);
  EXPECT_EQ(count(kEtcdCompletedDir), static_cast<std::size_t>(kItems));
  EXPECT_EQ(count(kEtcdWorkDir), 0u);
  EXPECT_EQ(count("archive/done"), static_cast<std::size_t>(kItems));

  // Every completion names the agent that finished it.
  Result<std::vector<etcd::KeyValue>> completed =
      detail::range_all(*client_, etcd_dir_prefix(prefix_, kEtcdCompletedDir), 0);
  ASSERT_TRUE(completed.ok());
  std::map<std::string, std::string> by_item;
  for (int a = 0; a < kAgents; ++a) {
    for (const std::string& id : runs[a].finished) by_item[id] = "agent-" + std::to_string(a);
  }
  for (const etcd::KeyValue& kv : *completed) {
    json doc = json::parse(kv.value);
    EXPECT_EQ(doc["status"], "completed");
    EXPECT_EQ(doc["agent"], by_item[doc["id"].get<std::string>()]);
  }
}

TEST_F(EtcdClaimRaceTest, ClaimsOfADeadAgentAreRequeuedAndFinishedOnce) {
  constexpr int kItems = 120;
  constexpr int kHeld = 20;
  add_items(kItems);
  // The dead agent claims 20 items and never finishes them.
  EtcdWorkQueue ghost(new_client(), prefix_);
  std::vector<WorkItem> held;
  for (int i = 0; i < kHeld; ++i) {
    Result<std::optional<WorkItem>> w = ghost.claim_next("ghost", 300s);
    ASSERT_TRUE(w.ok() && w->has_value());
    held.push_back(**w);
  }

  // Live agents work until every item is completed, while the engine requeues the ghost's claims.
  std::atomic<std::size_t> completed{0};
  std::mutex mu;
  std::vector<AgentRun> runs;
  const auto deadline = std::chrono::steady_clock::now() + 45s;
  auto done = [&] {
    return completed.load() >= static_cast<std::size_t>(kItems) ||
           std::chrono::steady_clock::now() > deadline;
  };
  std::vector<std::thread> threads;
  threads.reserve(4);
  for (int a = 0; a < 4; ++a) {
    threads.emplace_back([&, a] {
      AgentRun r = run_agent("live-" + std::to_string(a), [&] { return done(); });
      std::lock_guard<std::mutex> lock(mu);
      runs.push_back(std::move(r));
    });
  }
  std::thread counter([&] {
    while (!done()) {
      completed = count(kEtcdCompletedDir);
      std::this_thread::sleep_for(50ms);
    }
  });

  EtcdStore store(client_, prefix_);
  Result<Snapshot> snap = store.snapshot();
  ASSERT_TRUE(snap.ok());
  std::vector<RepairAction> actions;
  for (const WorkRecord& w : snap->work) {
    if (w.claimed_by == "ghost") {
      actions.push_back({RepairOp::kRequeue, w.file, "ghost", "orphaned_claim"});
    }
  }
  EXPECT_EQ(actions.size(), static_cast<std::size_t>(kHeld));
  Result<RepairOutcome> out = store.apply(actions);
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(out->applied, kHeld);

  for (std::thread& t : threads) t.join();
  counter.join();

  std::multiset<std::string> finished;
  for (const AgentRun& r : runs) {
    EXPECT_TRUE(r.errors.empty()) << r.errors.front();
    finished.insert(r.finished.begin(), r.finished.end());
  }
  EXPECT_EQ(finished.size(), static_cast<std::size_t>(kItems));
  for (int i = 0; i < kItems; ++i) EXPECT_EQ(finished.count(std::to_string(i)), 1u) << i;
  EXPECT_EQ(count(kEtcdCompletedDir), static_cast<std::size_t>(kItems));
  EXPECT_EQ(count(kEtcdWorkDir), 0u);

  // The ghost comes back: its claims are gone, and nothing it finishes is written.
  for (const WorkItem& w : held) {
    Result<FinishOutcome> late = ghost.finish(w, "ghost", Completion{true, 0, 1, "", ""});
    EXPECT_EQ(late.status().code(), ErrorCode::kConflict) << w.id;
  }
  Result<std::vector<etcd::KeyValue>> records =
      detail::range_all(*client_, etcd_dir_prefix(prefix_, kEtcdCompletedDir), 0);
  ASSERT_TRUE(records.ok());
  for (const etcd::KeyValue& kv : *records) {
    EXPECT_NE(json::parse(kv.value)["agent"], "ghost");
  }
  for (const WorkItem& w : held) {
    Result<etcd::RangeResult> done_item =
        client_->range(*key_for_file(prefix_, "completed_" + w.id + ".json"));
    ASSERT_TRUE(done_item.ok());
    ASSERT_EQ(done_item->kvs.size(), 1u);
    EXPECT_EQ(json::parse(done_item->kvs[0].value)["attempts"], 2);  // requeued once
  }
}

}  // namespace
}  // namespace dslmodel::store

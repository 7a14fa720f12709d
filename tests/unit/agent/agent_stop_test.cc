// The agent while it runs: heartbeats during a long item, stop with and without the grace
// running out, a claim lost mid-item, and an idle wait that never delays a stop.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "agent/agent.h"
#include "unit/agent/fake_work_queue.h"

namespace dslmodel::agent {
namespace {

using namespace std::chrono_literals;
using testing::FakeWorkQueue;
using SteadyClock = std::chrono::steady_clock;

class AgentStopTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cfg_.id = "a1";
    cfg_.poll_interval = 20ms;
  }

  void put(const std::string& id, std::vector<std::string> argv) {
    WorkItem w;
    w.id = id;
    w.command = std::move(argv);
    queue_.put(w);
  }

  // Starts the agent on its own thread; stats_ is filled when it returns.
  void start() {
    thread_ = std::jthread([this](const std::stop_token& st) {
      Agent agent(queue_, cfg_, clock_);
      stats_ = agent.run(st);
    });
  }

  bool wait_for(const std::function<bool()>& cond, std::chrono::milliseconds limit = 5s) {
    auto end = SteadyClock::now() + limit;
    while (SteadyClock::now() < end) {
      if (cond()) return true;
      std::this_thread::sleep_for(5ms);
    }
    return cond();
  }

  // Requests stop and joins; returns how long that took.
  std::chrono::milliseconds stop_and_join() {
    auto t0 = SteadyClock::now();
    thread_.request_stop();
    thread_.join();
    return std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - t0);
  }

  FakeWorkQueue queue_;
  SystemClock clock_;
  AgentConfig cfg_;
  AgentStats stats_;
  std::jthread thread_;
};

TEST_F(AgentStopTest, StopDuringALongItemReleasesItWithinTheGrace) {
  cfg_.grace = 300ms;
  put("long", {"sleep", "30"});
  start();
  ASSERT_TRUE(wait_for([&] { return queue_.claims().size() == 1; }));
  std::this_thread::sleep_for(100ms);
  auto took = stop_and_join();
  EXPECT_GE(took, 250ms);
  EXPECT_LT(took, 3s);
  EXPECT_EQ(stats_.released, 1);
  EXPECT_EQ(queue_.released(), std::vector<std::string>{"long"});
  EXPECT_EQ(queue_.item("long").status, "pending");
  EXPECT_TRUE(queue_.finished().empty());
  EXPECT_EQ(queue_.telemetry().size(), 1u);
  EXPECT_EQ(queue_.telemetry()[0].metrics["result"], "released");
  auto hb = queue_.heartbeats();
  ASSERT_FALSE(hb.empty());
  EXPECT_EQ(hb.back().status, "stopped");
}

TEST_F(AgentStopTest, StopLetsAnItemThatEndsWithinTheGraceComplete) {
  cfg_.grace = 5s;
  put("short", {"sleep", "0.5"});
  start();
  ASSERT_TRUE(wait_for([&] { return queue_.claims().size() == 1; }));
  auto took = stop_and_join();
  EXPECT_LT(took, 3s);
  EXPECT_EQ(stats_.completed, 1);
  EXPECT_EQ(queue_.item("short").status, "completed");
  EXPECT_TRUE(queue_.released().empty());
}

TEST_F(AgentStopTest, NoNewClaimsAfterStop) {
  cfg_.grace = 5s;
  put("first", {"sleep", "0.3"});
  put("second", {"true"});
  start();
  ASSERT_TRUE(wait_for([&] { return !queue_.claims().empty(); }));
  stop_and_join();
  EXPECT_EQ(queue_.claims().size(), 1u);
}

TEST_F(AgentStopTest, HeartbeatsContinueDuringALongItem) {
  cfg_.heartbeat_interval = 100ms;
  cfg_.exit_when_idle = true;
  put("long", {"sleep", "1"});
  start();
  thread_.join();
  int busy = 0;
  for (const auto& hb : queue_.heartbeats()) {
    if (hb.status == "busy" && hb.current_work == "long") ++busy;
  }
  EXPECT_GE(busy, 5);
  EXPECT_EQ(stats_.completed, 1);
}

TEST_F(AgentStopTest, DrainingIsReportedWhileWaitingForTheItem) {
  cfg_.grace = 5s;
  put("item", {"sleep", "0.6"});
  start();
  // Stopped once the item runs (a heartbeat names it), not between its claim and its start.
  ASSERT_TRUE(wait_for([&] {
    for (const auto& hb : queue_.heartbeats()) {
      if (hb.current_work == "item") return true;
    }
    return false;
  }));
  stop_and_join();
  bool draining = false;
  for (const auto& hb : queue_.heartbeats()) {
    draining = draining || (hb.status == "draining" && hb.current_work == "item");
  }
  EXPECT_TRUE(draining);
}

TEST_F(AgentStopTest, ALostClaimIsCountedNotFatal) {
  cfg_.exit_when_idle = true;
  cfg_.max_items = 1;
  put("w", {"sleep", "0.4"});
  start();
  ASSERT_TRUE(wait_for([&] { return queue_.claims().size() == 1; }));
  ASSERT_TRUE(queue_.requeue("w").ok());  // as coordination_improve would
  thread_.join();
  EXPECT_EQ(stats_.lost_claims, 1);
  EXPECT_TRUE(queue_.finished().empty());
  EXPECT_EQ(queue_.heartbeats().back().status, "stopped");
}

TEST_F(AgentStopTest, IdleWaitNeverDelaysAStop) {
  cfg_.poll_interval = 10s;
  cfg_.heartbeat_interval = 10s;
  start();
  ASSERT_TRUE(wait_for([&] { return !queue_.heartbeats().empty(); }));
  std::this_thread::sleep_for(50ms);
  EXPECT_LT(stop_and_join(), 500ms);
  EXPECT_EQ(queue_.heartbeats().back().status, "stopped");
}

TEST_F(AgentStopTest, IdleAgentKeepsHeartbeating) {
  cfg_.poll_interval = 10s;
  cfg_.heartbeat_interval = 50ms;
  start();
  ASSERT_TRUE(wait_for([&] { return queue_.heartbeats().size() >= 4; }, 2s));
  stop_and_join();
}

}  // namespace
}  // namespace dslmodel::agent

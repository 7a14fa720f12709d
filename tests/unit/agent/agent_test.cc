#include "agent/agent.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <set>
#include <thread>

#include "unit/agent/fake_work_queue.h"

namespace dslmodel::agent {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using testing::FakeWorkQueue;

WorkItem command_item(const std::string& id, std::vector<std::string> argv) {
  WorkItem w;
  w.id = id;
  w.command = std::move(argv);
  return w;
}

class AgentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "dsl-agent-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    cfg_.id = "a1";
    cfg_.host = "testhost";
    cfg_.poll_interval = 20ms;
    cfg_.exit_when_idle = true;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  AgentStats run_to_idle() {
    Agent agent(queue_, cfg_, clock_);
    return agent.run(std::stop_token{});
  }

  // Waits until the agent has claimed `n` items.
  bool wait_claims(std::size_t n, std::chrono::milliseconds limit = 5s) {
    auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      if (queue_.claims().size() >= n) return true;
      std::this_thread::sleep_for(5ms);
    }
    return false;
  }

  Completion only_completion() {
    auto f = queue_.finished();
    EXPECT_EQ(f.size(), 1u);
    return f.empty() ? Completion{} : f.front().completion;
  }

  fs::path dir_;
  FakeWorkQueue queue_;
  SystemClock clock_;
  AgentConfig cfg_;
};

TEST_F(AgentTest, RunsACommandAndReportsSuccess) {
  queue_.put(command_item("w1", {"echo", "hello"}));
  AgentStats s = run_to_idle();
  EXPECT_EQ(s.claimed, 1);
  EXPECT_EQ(s.completed, 1);
  Completion c = only_completion();
  EXPECT_TRUE(c.success);
  EXPECT_EQ(c.exit_code, 0);
  EXPECT_EQ(c.output, "hello\n");
  EXPECT_TRUE(c.error.empty());
  EXPECT_GE(c.duration_ms, 0);
  EXPECT_EQ(queue_.item("w1").status, "completed");
  EXPECT_EQ(queue_.last_lease(), cfg_.default_timeout + cfg_.lease);
}

TEST_F(AgentTest, FailureIsRetriedUpToMaxAttempts) {
  WorkItem w = command_item("w1", {"sh", "-c", "echo oops >&2; exit 3"});
  w.max_attempts = 2;
  queue_.put(w);
  AgentStats s = run_to_idle();
  EXPECT_EQ(s.claimed, 2);
  EXPECT_EQ(s.failed, 2);
  EXPECT_EQ(s.retrying, 1);
  auto f = queue_.finished();
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[0].outcome, FinishOutcome::kRetrying);
  EXPECT_EQ(f[1].outcome, FinishOutcome::kFailed);
  EXPECT_FALSE(f[1].completion.success);
  EXPECT_EQ(f[1].completion.exit_code, 3);
  EXPECT_EQ(f[1].completion.output, "oops\n");
  EXPECT_EQ(f[1].completion.error, "exited with status 3");
  auto t = queue_.telemetry();
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[0].metrics["attempt"], 1);
  EXPECT_EQ(t[1].metrics["attempt"], 2);
}

TEST_F(AgentTest, TimeoutIsEnforced) {
  WorkItem w = command_item("w1", {"sleep", "30"});
  w.timeout = Seconds(1);
  w.max_attempts = 1;
  queue_.put(w);
  auto start = std::chrono::steady_clock::now();
  run_to_idle();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  Completion c = only_completion();
  EXPECT_FALSE(c.success);
  EXPECT_NE(c.error.find("timed out"), std::string::npos) << c.error;
}

TEST_F(AgentTest, InvalidCommandIsNeverRun) {
  const fs::path marker = dir_ / "ran";
  WorkItem w = command_item("w1", {"touch", marker.string()});
  w.command_invalid = true;  // as parsed from "command": "rm -rf /; echo"
  w.max_attempts = 1;
  queue_.put(w);
  run_to_idle();
  Completion c = only_completion();
  EXPECT_FALSE(c.success);
  EXPECT_EQ(c.error, "command must be an array of strings (argv), not run");
  EXPECT_FALSE(fs::exists(marker));
  EXPECT_EQ(queue_.telemetry().size(), 1u);
}

TEST_F(AgentTest, ArgumentsArePassedLiterally) {
  queue_.put(command_item("w1", {"echo", "; rm -rf /tmp/y", "$(id)", "a\nb", "`id`", "*"}));
  run_to_idle();
  Completion c = only_completion();
  EXPECT_TRUE(c.success);
  EXPECT_EQ(c.output, "; rm -rf /tmp/y $(id) a\nb `id` *\n");
}

TEST_F(AgentTest, ExplicitShellArgumentsStayData) {
  const fs::path marker = dir_ / "x";
  queue_.put(command_item("w1", {"sh", "-c", "echo \"$0\"", "$(touch " + marker.string() + ")"}));
  run_to_idle();
  Completion c = only_completion();
  EXPECT_TRUE(c.success);
  EXPECT_EQ(c.output, "$(touch " + marker.string() + ")\n");
  EXPECT_FALSE(fs::exists(marker));
}

TEST_F(AgentTest, PromptGoesToTheHandlerOnStdin) {
  cfg_.prompt_handler = {"tr", "a-z", "A-Z"};
  WorkItem w;
  w.id = "p1";
  w.prompt = "summarise $(id); done\nsecond line";
  queue_.put(w);
  run_to_idle();
  Completion c = only_completion();
  EXPECT_TRUE(c.success);
  EXPECT_EQ(c.output, "SUMMARISE $(ID); DONE\nSECOND LINE");
}

TEST_F(AgentTest, PromptWithoutHandlerFails) {
  WorkItem w;
  w.id = "p1";
  w.prompt = "hello";
  w.max_attempts = 1;
  queue_.put(w);
  run_to_idle();
  Completion c = only_completion();
  EXPECT_FALSE(c.success);
  EXPECT_EQ(c.error, "no prompt handler configured");
}

TEST_F(AgentTest, MissingProgramFailsWithItsName) {
  WorkItem w = command_item("w1", {"dsl-no-such-program-xyz"});
  w.max_attempts = 1;
  queue_.put(w);
  run_to_idle();
  Completion c = only_completion();
  EXPECT_FALSE(c.success);
  EXPECT_EQ(c.exit_code, 127);
  EXPECT_NE(c.error.find("dsl-no-such-program-xyz"), std::string::npos) << c.error;
}

TEST_F(AgentTest, OutputTailIsBounded) {
  queue_.put(command_item("w1", {"sh", "-c", "yes abcdef | head -c 100000; echo END"}));
  run_to_idle();
  Completion c = only_completion();
  EXPECT_LE(c.output.size(), 4096u);
  EXPECT_TRUE(c.output.ends_with("END\n"));
}

TEST_F(AgentTest, OneTelemetryRecordPerItem) {
  for (int i = 0; i < 3; ++i) queue_.put(command_item("w" + std::to_string(i), {"true"}));
  AgentStats s = run_to_idle();
  EXPECT_EQ(s.completed, 3);
  auto t = queue_.telemetry();
  ASSERT_EQ(t.size(), 3u);
  std::set<std::string> ids;
  for (const auto& r : t) {
    ids.insert(r.id);
    for (const char* key : {"agent", "item", "duration_ms", "exit_code", "success", "attempt"}) {
      EXPECT_TRUE(r.metrics.contains(key)) << key;
    }
    EXPECT_EQ(r.metrics["agent"], "a1");
    EXPECT_EQ(r.metrics["success"], true);
  }
  EXPECT_EQ(ids, (std::set<std::string>{"a1-1", "a1-2", "a1-3"}));
}

TEST_F(AgentTest, MaxItemsStopsClaiming) {
  for (int i = 0; i < 3; ++i) queue_.put(command_item("w" + std::to_string(i), {"true"}));
  cfg_.max_items = 2;
  AgentStats s = run_to_idle();
  EXPECT_EQ(s.claimed, 2);
  EXPECT_EQ(queue_.list("pending")->size(), 1u);
}

TEST_F(AgentTest, HeartbeatsIdleFirstAndStoppedLast) {
  AgentStats s = run_to_idle();
  EXPECT_EQ(s.claimed, 0);
  auto hb = queue_.heartbeats();
  ASSERT_GE(hb.size(), 2u);
  EXPECT_EQ(hb.front().status, "idle");
  EXPECT_EQ(hb.back().status, "stopped");
  EXPECT_EQ(hb.front().id, "a1");
  EXPECT_EQ(hb.front().host, "testhost");
  EXPECT_GT(hb.front().pid, 0);
  EXPECT_TRUE(hb.front().created.has_value());
}

}  // namespace
}  // namespace dslmodel::agent

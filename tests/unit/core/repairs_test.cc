// plan_queue_repairs() and plan_optimizations(): which records coordination_improve and optimize
// touch, and in what order.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "dslmodel/policy.h"
#include "unit/core/core_test_util.h"

namespace dslmodel {
namespace {

using namespace std::chrono_literals;
using testing::agent;
using testing::completed;
using testing::telemetry;
using testing::test_now;
using testing::work;

TEST(RepairOp, Names) {
  EXPECT_EQ(to_string(RepairOp::kRequeue), "requeue");
  EXPECT_EQ(to_string(RepairOp::kDeadLetter), "dead_letter");
  EXPECT_EQ(to_string(RepairOp::kRetryFailed), "retry_failed");
  EXPECT_EQ(to_string(RepairOp::kArchive), "archive");
  EXPECT_EQ(to_string(RepairOp::kFinalize), "finalize");
}

struct ClaimCase {
  std::string name;
  std::string claimed_by;
  std::string agent_status;  // "-": no agent record
  std::optional<Seconds> heartbeat_age;
  std::string status = "claimed";
  std::string want_reason;  // empty: left alone
};

class ClaimRepairTest : public ::testing::TestWithParam<ClaimCase> {};

TEST_P(ClaimRepairTest, Table) {
  const ClaimCase& c = GetParam();
  Snapshot s;
  if (c.agent_status != "-") {
    std::optional<TimePoint> hb;
    if (c.heartbeat_age) hb = test_now() - *c.heartbeat_age;
    s.agents.push_back(agent("7", c.agent_status, hb));
  }
  s.work.push_back(work("1", c.status, test_now() - 1h, c.claimed_by));
  const auto actions = plan_queue_repairs(s, Config{}, test_now());
  if (c.want_reason.empty()) {
    EXPECT_TRUE(actions.empty()) << actions[0].reason;
    return;
  }
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0].op, RepairOp::kRequeue);
  EXPECT_EQ(actions[0].file, "work_1.json");
  EXPECT_EQ(actions[0].reason, c.want_reason);
  EXPECT_EQ(actions[0].expect_claimed_by, c.claimed_by);
}

std::string claim_name(const ::testing::TestParamInfo<ClaimCase>& i) { return i.param.name; }

INSTANTIATE_TEST_SUITE_P(
    Claims, ClaimRepairTest,
    ::testing::Values(
        ClaimCase{"HeldByActiveAgent", "7", "active", std::nullopt, "claimed", ""},
        ClaimCase{"HeldByPrefixedName", "agent_7", "active", std::nullopt, "claimed", ""},
        ClaimCase{"HeldWhileInProgress", "7", "busy", 10s, "in_progress", ""},
        ClaimCase{"HeldWhileRunning", "7", "", 10s, "running", ""},
        ClaimCase{"NoAgentRecord", "9", "-", std::nullopt, "claimed", "orphaned_claim"},
        ClaimCase{"NoOwner", "", "active", std::nullopt, "claimed", "orphaned_claim"},
        ClaimCase{"AgentStopped", "7", "stopped", std::nullopt, "in_progress", "orphaned_claim"},
        ClaimCase{"AgentDraining", "7", "draining", std::nullopt, "claimed", "orphaned_claim"},
        ClaimCase{"HeartbeatStale", "7", "active", 61s, "running", "orphaned_claim"},
        ClaimCase{"PendingIsNoClaim", "9", "-", std::nullopt, "pending", ""}),
    claim_name);

TEST(QueueRepairs, MatchesAgentByFileStemOrId) {
  Snapshot s;
  AgentRecord a = agent("x");
  a.id = "worker-3";  // file agent_x.json, id worker-3
  s.agents.push_back(a);
  s.work.push_back(work("1", "claimed", test_now(), "x"));
  s.work.push_back(work("2", "claimed", test_now(), "agent_x"));
  s.work.push_back(work("3", "claimed", test_now(), "worker-3"));
  s.work.push_back(work("4", "claimed", test_now(), "agent_worker-3"));
  s.work.push_back(work("5", "claimed", test_now(), "worker-4"));
  const auto actions = plan_queue_repairs(s, Config{}, test_now());
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0].file, "work_5.json");
}

TEST(QueueRepairs, ExpiredLeaseOfLiveAgent) {
  Snapshot s;
  s.agents.push_back(agent("1"));
  WorkRecord w = work("1", "claimed", test_now() - 1h, "1");
  w.lease_expires = test_now() + 1s;
  s.work.push_back(w);
  EXPECT_TRUE(plan_queue_repairs(s, Config{}, test_now()).empty());
  s.work[0].lease_expires = test_now() - 1s;
  const auto actions = plan_queue_repairs(s, Config{}, test_now());
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0].reason, "lease_expired");
  EXPECT_EQ(actions[0].expect_claimed_by, "1");
}

// An agent that died between writing completed_<id> and moving work_<id> away: the item ran, so
// it is finalized whoever holds it, never requeued (each item completes exactly once).
TEST(QueueRepairs, ClaimedItemWithACompletionIsFinalized) {
  Snapshot s;
  s.agents.push_back(agent("live"));
  s.work.push_back(work("1", "claimed", test_now() - 1h, "gone"));  // orphaned otherwise
  s.work.push_back(work("2", "running", test_now() - 2h, "live"));  // held by a live agent
  s.work.push_back(work("3", "pending", test_now() - 3h));          // a retry: left alone
  s.work.push_back(work("4", "claimed", test_now() - 4h, "gone"));  // no completion: requeue
  s.completed.push_back(completed("1"));
  s.completed.push_back(completed("2", "failed"));
  s.completed.push_back(completed("3", "failed", std::nullopt, true));
  const auto actions = plan_queue_repairs(s, Config{}, test_now());
  ASSERT_EQ(actions.size(), 3u);
  EXPECT_EQ(actions[0].op, RepairOp::kRequeue);
  EXPECT_EQ(actions[0].file, "work_4.json");
  EXPECT_EQ(actions[1].op, RepairOp::kFinalize);
  EXPECT_EQ(actions[1].file, "work_2.json");
  EXPECT_EQ(actions[1].expect_claimed_by, "live");
  EXPECT_EQ(actions[1].reason, "already_completed");
  EXPECT_EQ(actions[2].op, RepairOp::kFinalize);
  EXPECT_EQ(actions[2].file, "work_1.json");
  EXPECT_EQ(actions[2].expect_claimed_by, "gone");
}

TEST(QueueRepairs, MaxAttempts) {
  Snapshot s;
  WorkRecord a = work("a", "pending", test_now());
  a.attempts = 3;  // default max 3
  WorkRecord b = work("b", "pending", test_now());
  b.attempts = 2;
  WorkRecord c = work("c", "", test_now());
  c.attempts = 1;
  c.max_attempts = 1;
  WorkRecord d = work("d", "pending", test_now());
  d.attempts = 4;
  d.max_attempts = 5;
  s.work = {a, b, c, d};
  const auto actions = plan_queue_repairs(s, Config{}, test_now());
  ASSERT_EQ(actions.size(), 2u);
  EXPECT_EQ(actions[0].file, "work_a.json");
  EXPECT_EQ(actions[1].file, "work_c.json");
  for (const auto& act : actions) {
    EXPECT_EQ(act.op, RepairOp::kDeadLetter);
    EXPECT_EQ(act.reason, "max_attempts");
  }
}

TEST(QueueRepairs, MaxWorkAge) {
  Snapshot s;
  Config cfg;
  cfg.policy.max_work_age = Seconds(7 * 86400);
  const Seconds max_age = cfg.policy.max_work_age;
  s.work.push_back(work("old", "pending", test_now() - max_age - 1s));
  s.work.push_back(work("edge", "pending", test_now() - max_age));
  s.work.push_back(work("undated", "pending", std::nullopt));
  s.work.push_back(work("done", "completed", test_now() - 2 * max_age));
  s.work.push_back(work("dead", "dead", test_now() - 2 * max_age));
  const auto actions = plan_queue_repairs(s, cfg, test_now());
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0].file, "work_old.json");
  EXPECT_EQ(actions[0].op, RepairOp::kDeadLetter);
  EXPECT_EQ(actions[0].reason, "max_work_age");
}

TEST(QueueRepairs, MaxWorkAgeIsOffByDefault) {
  Snapshot s;
  s.work.push_back(work("ancient", "pending", test_now() - Seconds(10LL * 365 * 86400)));
  EXPECT_TRUE(plan_queue_repairs(s, Config{}, test_now()).empty());
}

TEST(QueueRepairs, OldestFirstWithinBatch) {
  Snapshot s;
  Config cfg;
  cfg.policy.repair_batch = 3;
  s.work.push_back(work("undated", "claimed", std::nullopt, "ghost"));
  s.work.push_back(work("b", "claimed", test_now() - 2h, "ghost"));
  s.work.push_back(work("a", "claimed", test_now() - 2h, "ghost"));
  WorkRecord c = work("c", "claimed", test_now() - 2h, "ghost");
  c.claimed_at = test_now() - 3h;
  s.work.push_back(c);
  s.work.push_back(work("d", "claimed", test_now() - 3h, "ghost"));
  const auto actions = plan_queue_repairs(s, cfg, test_now());
  ASSERT_EQ(actions.size(), 3u);
  EXPECT_EQ(actions[0].file, "work_d.json");
  EXPECT_EQ(actions[1].file, "work_c.json");  // same created, claimed_at known
  EXPECT_EQ(actions[2].file, "work_a.json");  // then by file name
  cfg.policy.repair_batch = 0;
  EXPECT_TRUE(plan_queue_repairs(s, cfg, test_now()).empty());
}

TEST(Optimizations, RetriesRetryableFailuresUpToBatch) {
  Snapshot s;
  Config cfg;
  cfg.policy.repair_batch = 2;
  s.completed.push_back(completed("1", "failed", test_now() - 1h, true));
  s.completed.push_back(completed("2", "error", test_now() - 3h, true));
  s.completed.push_back(completed("3", "failed", test_now() - 2h, true));
  s.completed.push_back(completed("4", "failed", test_now() - 4h, false));
  s.completed.push_back(completed("5", "completed", test_now() - 4h, true));
  const auto actions = plan_optimizations(s, cfg, test_now());
  ASSERT_EQ(actions.size(), 2u);
  EXPECT_EQ(actions[0].file, "completed_2.json");
  EXPECT_EQ(actions[1].file, "completed_3.json");
  for (const auto& a : actions) {
    EXPECT_EQ(a.op, RepairOp::kRetryFailed);
    EXPECT_EQ(a.reason, "retryable_failure");
  }
}

TEST(Optimizations, NeverRetriesOverAQueuedItem) {
  Snapshot s;
  s.completed.push_back(completed("1", "failed", test_now() - 1h, true));
  s.completed.push_back(completed("2", "failed", test_now() - 1h, true));
  s.work.push_back(work("1", "pending", test_now()));
  const auto actions = plan_optimizations(s, Config{}, test_now());
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0].file, "completed_2.json");
}

TEST(Optimizations, ArchivesOnlyWhenEnoughAreDue) {
  Snapshot s;
  const TimePoint old = test_now() - 8 * 24h;
  for (int i = 0; i < 60; ++i) s.completed.push_back(completed(std::to_string(i), "", old));
  for (int i = 0; i < 39; ++i) s.telemetry.push_back(telemetry(std::to_string(i), old));
  s.telemetry.push_back(telemetry("fresh", test_now() - 1h));
  s.telemetry.push_back(telemetry("undated", std::nullopt));
  s.completed.push_back(completed("undated", "completed", std::nullopt));
  s.completed.push_back(completed("retry", "failed", old, true));
  const Config cfg;
  auto actions = plan_optimizations(s, cfg, test_now());
  ASSERT_EQ(actions.size(), 1u);  // 99 due < 100: only the retry
  EXPECT_EQ(actions[0].op, RepairOp::kRetryFailed);

  s.telemetry.push_back(telemetry("99", old - 1s));
  actions = plan_optimizations(s, cfg, test_now());
  ASSERT_EQ(actions.size(), 101u);                  // the retry, then all 100 due, no batch limit
  EXPECT_EQ(actions[1].file, "telemetry_99.json");  // oldest first
  for (std::size_t i = 1; i < actions.size(); ++i) {
    EXPECT_EQ(actions[i].op, RepairOp::kArchive);
    EXPECT_EQ(actions[i].reason, "retention");
    EXPECT_NE(actions[i].file, "completed_retry.json");
    EXPECT_NE(actions[i].file, "telemetry_fresh.json");
    EXPECT_NE(actions[i].file, "telemetry_undated.json");
    EXPECT_NE(actions[i].file, "completed_undated.json");
  }
}

TEST(Optimizations, ArchiveThresholdIsConfigurable) {
  Snapshot s;
  s.telemetry.push_back(telemetry("1", test_now() - 8 * 24h));
  Config cfg;
  cfg.policy.archive_min_files = 1;
  EXPECT_EQ(plan_optimizations(s, cfg, test_now()).size(), 1u);
  cfg.policy.retention = 9 * 24h;
  EXPECT_TRUE(plan_optimizations(s, cfg, test_now()).empty());
}

TEST(RequeueWait, ARequeueWaitsWhileTheClaimsAgentOrGroupRunsOnThisHost) {
  ClaimProcesses p;
  p.host = "h1";
  p.pid_space = "boot/1";
  p.pid = 10;
  p.pgid = 11;
  EXPECT_EQ(requeue_wait_reason(p, {true, true, false}), "its agent (pid 10 on h1) still runs");
  EXPECT_EQ(requeue_wait_reason(p, {true, false, true}), "its process group 11 on h1 still runs");
  EXPECT_EQ(requeue_wait_reason(p, {true, false, false}), std::nullopt) << "nothing left";
  EXPECT_EQ(requeue_wait_reason(p, {false, true, true}), std::nullopt)
      << "another host: the lease rule alone";
  EXPECT_EQ(requeue_wait_reason(std::nullopt, {true, true, true}), std::nullopt)
      << "nothing recorded";
}

}  // namespace
}  // namespace dslmodel

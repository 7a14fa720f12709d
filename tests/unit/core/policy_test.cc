// The built-in policy: scale rules, queue repair and optimize decisions, confidence, ids and
// normalize_decisions(). Table-driven, the way Kubernetes tests its replica calculator.
#include "dslmodel/policy.h"

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>

#include "unit/core/core_test_util.h"

namespace dslmodel {
namespace {

using namespace std::chrono_literals;
using testing::agent;
using testing::test_now;
using testing::work;

SystemMetrics state(std::int64_t agents, std::int64_t queue, double health,
                    std::int64_t in_progress = 0) {
  SystemMetrics m;
  m.active_agents = agents;
  m.work_queue_size = queue;
  m.in_progress = in_progress;
  m.pending = queue - in_progress;
  m.health_score = health;
  m.health_state = classify_health(health);
  return m;
}

const Decision* find_type(const std::vector<Decision>& ds, std::string_view type) {
  for (const Decision& d : ds) {
    if (d.type == type) return &d;
  }
  return nullptr;
}

const Decision* find_scale(const std::vector<Decision>& ds) {
  const Decision* up = find_type(ds, decision_type::kScaleUp);
  return up ? up : find_type(ds, decision_type::kScaleDown);
}

struct ScaleCase {
  std::string name;
  SystemMetrics metrics;
  int min_agents = 1;
  int max_agents = 10;
  double scale_factor = 1.0;
  std::string want_type;  // empty: no scale decision
  std::string want_reason;
  std::int64_t want_target = 0;
  double want_confidence = 0.0;
  int want_priority = 0;
};

class ScaleRuleTest : public ::testing::TestWithParam<ScaleCase> {};

void check_scale_case(const ScaleCase& c, Sizing sizing);

// The seed's step rules, alone (steps) and within capacity sizing: on a snapshot with no
// completed records the capacity model rests on its default service time, asks for less than
// the seed's steps here, and never removes agents on a guess, so both give the seed's answers.
TEST_P(ScaleRuleTest, Table) {
  for (Sizing sizing : {Sizing::kSteps, Sizing::kCapacity}) {
    SCOPED_TRACE(sizing == Sizing::kSteps ? "steps" : "capacity");
    check_scale_case(GetParam(), sizing);
  }
}

void check_scale_case(const ScaleCase& c, Sizing sizing) {
  Config cfg;
  cfg.policy.sizing = sizing;
  cfg.policy.min_agents = c.min_agents;
  cfg.policy.max_agents = c.max_agents;
  cfg.policy.scale_factor = c.scale_factor;
  const auto ds = decide(Snapshot{}, c.metrics, cfg, DecisionHistory{}, test_now());
  const Decision* d = find_scale(ds);
  if (c.want_type.empty()) {
    EXPECT_EQ(d, nullptr) << d->reason;
    return;
  }
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->type, c.want_type);
  EXPECT_EQ(d->reason, c.want_reason);
  EXPECT_EQ(d->scale->target_agents, c.want_target);
  EXPECT_EQ(d->scale->current_agents, c.metrics.active_agents);
  EXPECT_EQ(parameters_json(*d)["delta"], c.want_target - c.metrics.active_agents);
  EXPECT_EQ(d->parameters["work_queue_size"], c.metrics.work_queue_size);
  EXPECT_EQ(d->parameters["health_score"], c.metrics.health_score);
  EXPECT_DOUBLE_EQ(d->confidence, c.want_confidence);
  EXPECT_EQ(d->priority, c.want_priority);
}

std::string case_name(const ::testing::TestParamInfo<ScaleCase>& info) { return info.param.name; }

INSTANTIATE_TEST_SUITE_P(
    Rules, ScaleRuleTest,
    ::testing::Values(
        // Seed: "Health 0.2 -> Add 3 agents".
        ScaleCase{"SeedCriticalAddsThree", state(2, 8, 0.2), 1, 10, 1.0, "scale_up",
                  "critical_backlog", 5, 0.9, 10},
        ScaleCase{"CriticalCappedAtMax", state(9, 8, 0.2), 1, 10, 1.0, "scale_up",
                  "critical_backlog", 10, 0.9, 10},
        ScaleCase{"CriticalAtMaxDoesNothing", state(10, 5, 0.25), 1, 10, 1.0, "", "", 0, 0, 0},
        ScaleCase{"CriticalFactorTwoAddsSix", state(2, 8, 0.2), 1, 10, 2.0, "scale_up",
                  "critical_backlog", 8, 0.9, 10},
        ScaleCase{"CriticalFactorTwoCapped", state(6, 8, 0.2), 1, 10, 2.0, "scale_up",
                  "critical_backlog", 10, 0.9, 10},
        ScaleCase{"CriticalSmallMax", state(2, 8, 0.2), 1, 3, 1.0, "scale_up", "critical_backlog",
                  3, 0.9, 10},
        ScaleCase{"CriticalZeroFactorStillAddsOne", state(2, 8, 0.2), 1, 10, 0.0, "scale_up",
                  "critical_backlog", 3, 0.9, 10},
        ScaleCase{"CriticalNoWorkNoScaleUp", state(1, 0, 0.2), 1, 10, 1.0, "", "", 0, 0, 0},
        ScaleCase{"CriticalNoWorkIdleScalesDown", state(3, 0, 0.2), 1, 10, 1.0, "scale_down",
                  "idle_capacity", 1, 0.7, 4},
        ScaleCase{"BelowMinWithoutWork", state(1, 0, 0.7), 3, 10, 1.0, "scale_up",
                  "below_min_agents", 3, 0.95, 10},
        ScaleCase{"NoAgentsAtAll", state(0, 0, 0.2), 1, 10, 1.0, "scale_up", "below_min_agents", 1,
                  0.95, 10},
        ScaleCase{"BelowMinWithCriticalBacklogTakesTheBacklogStep", state(0, 8, 0.1), 2, 10, 1.0,
                  "scale_up", "below_min_agents", 3, 0.95, 10},
        ScaleCase{"BelowMinAboveTheBacklogStep", state(0, 8, 0.1), 5, 10, 1.0, "scale_up",
                  "below_min_agents", 5, 0.95, 10},
        ScaleCase{"AboveMax", state(12, 0, 0.95), 1, 10, 1.0, "scale_down", "above_max_agents", 10,
                  0.95, 10},
        ScaleCase{"AboveMaxWhileCritical", state(12, 30, 0.2), 1, 10, 1.0, "scale_down",
                  "above_max_agents", 10, 0.95, 10},
        ScaleCase{"DegradedMoreWorkThanAgents", state(2, 5, 0.45), 1, 10, 1.0, "scale_up",
                  "degraded_backlog", 3, 0.75, 7},
        ScaleCase{"DegradedFactorRounds", state(2, 5, 0.45), 1, 10, 2.5, "scale_up",
                  "degraded_backlog", 5, 0.75, 7},
        ScaleCase{"DegradedEnoughAgents", state(5, 5, 0.45), 1, 10, 1.0, "", "", 0, 0, 0},
        ScaleCase{"HealthyWithWork", state(3, 2, 0.7), 1, 10, 1.0, "", "", 0, 0, 0},
        ScaleCase{"HealthyWithManyQueued", state(3, 9, 0.65), 1, 10, 1.0, "", "", 0, 0, 0},
        // Seed: "Health 0.95, 8 agents -> Remove 3".
        ScaleCase{"SeedOverProvisioned", state(8, 0, 0.95), 1, 10, 1.0, "scale_down",
                  "over_provisioned", 5, 0.85, 6},
        ScaleCase{"OverProvisionedAtBoundary", state(8, 0, 0.9), 1, 10, 1.0, "scale_down",
                  "over_provisioned", 5, 0.85, 6},
        ScaleCase{"JustBelowOptimalIsIdle", state(8, 0, 0.8999999999999999), 1, 10, 1.0,
                  "scale_down", "idle_capacity", 1, 0.7, 4},
        ScaleCase{"OverProvisionedRespectsMin", state(8, 0, 0.95), 6, 10, 1.0, "scale_down",
                  "over_provisioned", 6, 0.85, 6},
        ScaleCase{"OptimalWithWorkKeeps", state(8, 1, 0.95), 1, 10, 1.0, "", "", 0, 0, 0},
        ScaleCase{"OptimalAtSaturationIsIdle", state(5, 0, 0.95), 1, 10, 1.0, "scale_down",
                  "idle_capacity", 1, 0.7, 4},
        ScaleCase{"IdleAtMinKeeps", state(1, 0, 0.7), 1, 10, 1.0, "", "", 0, 0, 0},
        ScaleCase{"WorkRunningKeeps", state(3, 0, 0.7, 1), 1, 10, 1.0, "", "", 0, 0, 0}),
    case_name);

Snapshot orphan_snapshot(int orphans, int pending) {
  Snapshot s;
  s.agents.push_back(agent("1"));
  s.agents.push_back(agent("2"));
  const TimePoint t = test_now() - 10min;
  for (int i = 0; i < orphans; ++i) {
    s.work.push_back(work("o" + std::to_string(i), "claimed", t + std::chrono::seconds(i),
                          "ghost" + std::to_string(i)));
  }
  for (int i = 0; i < pending; ++i) s.work.push_back(work("p" + std::to_string(i), "pending", t));
  return s;
}

// Seed: "Queue size 15 -> Process 10 items", with 10 orphaned claims among 15 queued.
TEST(Decide, SeedFifteenQueuedTenOrphaned) {
  const Snapshot s = orphan_snapshot(10, 5);
  const Config cfg;
  const SystemMetrics m = measure(s, cfg, test_now());
  ASSERT_EQ(m.work_queue_size, 15);
  const auto ds = decide(s, m, cfg, DecisionHistory{}, test_now());
  const Decision* d = find_type(ds, decision_type::kCoordinationImprove);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->parameters["items"], 10);
  EXPECT_EQ(d->parameters["orphaned"], 10);
  EXPECT_EQ(d->parameters["expired_leases"], 0);
  EXPECT_EQ(d->parameters["dead_letter"], 0);
  EXPECT_EQ(d->reason, "orphaned_claims");
  EXPECT_EQ(d->priority, 8);
  EXPECT_DOUBLE_EQ(d->confidence, 0.95);  // the claimants have no agent record at all
  ASSERT_EQ(parameters_json(*d)["actions"].size(), 10u);
  const nlohmann::json first = parameters_json(*d)["actions"][0];
  EXPECT_EQ(first["op"], "requeue");
  EXPECT_EQ(first["file"], "work_o0.json");
  EXPECT_EQ(first["reason"], "orphaned_claim");
  EXPECT_EQ(first["expect_claimed_by"], "ghost0");
}

TEST(Decide, FifteenOrphansRepairOneBatch) {
  const Snapshot s = orphan_snapshot(15, 0);
  const auto ds = decide(s, measure(s, Config{}, test_now()), Config{}, {}, test_now());
  const Decision* d = find_type(ds, decision_type::kCoordinationImprove);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->parameters["items"], 10);
}

TEST(Decide, OrphanOfRecentlySilentAgentIsLessCertain) {
  Snapshot s;
  s.agents.push_back(agent("1", "active", test_now() - 90s));  // stale, but not 2 x 60 s
  s.agents.push_back(agent("2"));
  s.work.push_back(work("1", "claimed", test_now() - 5min, "1"));
  auto ds = decide(s, measure(s, Config{}, test_now()), Config{}, {}, test_now());
  const Decision* d = find_type(ds, decision_type::kCoordinationImprove);
  ASSERT_NE(d, nullptr);
  EXPECT_DOUBLE_EQ(d->confidence, 0.8);

  s.agents[0].heartbeat = test_now() - 121s;  // long stale: clear evidence
  ds = decide(s, measure(s, Config{}, test_now()), Config{}, {}, test_now());
  d = find_type(ds, decision_type::kCoordinationImprove);
  ASSERT_NE(d, nullptr);
  EXPECT_DOUBLE_EQ(d->confidence, 0.95);

  s.agents[0].heartbeat.reset();
  s.agents[0].status = "stopped";
  ds = decide(s, measure(s, Config{}, test_now()), Config{}, {}, test_now());
  EXPECT_DOUBLE_EQ(find_type(ds, decision_type::kCoordinationImprove)->confidence, 0.95);

  s.agents[0].status = "draining";
  ds = decide(s, measure(s, Config{}, test_now()), Config{}, {}, test_now());
  EXPECT_DOUBLE_EQ(find_type(ds, decision_type::kCoordinationImprove)->confidence, 0.8);
}

TEST(Decide, RepairReasonCodes) {
  Snapshot s;
  s.agents.push_back(agent("1"));
  WorkRecord leased = work("1", "claimed", test_now() - 5min, "1");
  leased.lease_expires = test_now() - 1s;
  s.work.push_back(leased);
  auto ds = decide(s, measure(s, Config{}, test_now()), Config{}, {}, test_now());
  const Decision* d = find_type(ds, decision_type::kCoordinationImprove);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->reason, "expired_leases");
  EXPECT_EQ(d->parameters["expired_leases"], 1);

  Config aging;
  aging.policy.max_work_age = Seconds(86400);
  s.work[0] = work("1", "pending", test_now() - aging.policy.max_work_age - 1h);
  ds = decide(s, measure(s, aging, test_now()), aging, {}, test_now());
  d = find_type(ds, decision_type::kCoordinationImprove);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->reason, "stale_work");
  EXPECT_EQ(d->parameters["dead_letter"], 1);
  EXPECT_DOUBLE_EQ(d->confidence, 0.95);
}

TEST(Decide, DemoFixtureAddsThreeAgents) {
  const Snapshot s = testing::demo_fixture();
  const Config cfg;
  const auto ds = decide(s, measure(s, cfg, test_now()), cfg, {}, test_now());
  ASSERT_EQ(ds.size(), 1u);
  EXPECT_EQ(ds[0].type, "scale_up");
  EXPECT_EQ(ds[0].reason, "critical_backlog");
  EXPECT_EQ(ds[0].scale->target_agents, 5);
  EXPECT_EQ(ds[0].rationale,
            "health 0.289 (critical) with 8 items waiting and 2 active agents: add 3 agents "
            "(2 \u2192 5)");
}

TEST(Decide, IdsAndTimesInFinalOrder) {
  Snapshot s = orphan_snapshot(3, 5);
  for (int i = 0; i < 100; ++i) {
    s.telemetry.push_back(testing::telemetry(std::to_string(i), test_now() - 30 * 24h));
  }
  const auto ds = decide(s, measure(s, Config{}, test_now()), Config{}, {}, test_now());
  ASSERT_EQ(ds.size(), 3u);
  const std::string prefix = "dec-" + std::to_string(unix_millis(test_now())) + "-";
  EXPECT_EQ(ds[0].type, "scale_up");
  EXPECT_EQ(ds[1].type, "coordination_improve");
  EXPECT_EQ(ds[2].type, "optimize");
  for (std::size_t i = 0; i < ds.size(); ++i) {
    EXPECT_EQ(ds[i].id, prefix + std::to_string(i + 1));
    EXPECT_EQ(ds[i].created_at, test_now());
  }
  EXPECT_EQ(ds[2].reason, "compaction");
  EXPECT_EQ(ds[2].parameters["archived"], 100);
  EXPECT_EQ(ds[2].parameters["retries"], 0);
  EXPECT_EQ(ds[2].priority, 3);
  EXPECT_DOUBLE_EQ(ds[2].confidence, 0.75);
}

TEST(Decide, OptimizeRetriesFailuresInAnyState) {
  Snapshot s;
  s.agents.push_back(agent("1"));
  s.completed.push_back(testing::completed("1", "failed", test_now() - 1h, true));
  for (double h : {0.1, 0.45, 0.7, 0.95}) {
    const auto ds = decide(s, state(1, 0, h), Config{}, {}, test_now());
    const Decision* d = find_type(ds, decision_type::kOptimize);
    ASSERT_NE(d, nullptr) << h;
    EXPECT_EQ(d->reason, "retry_failures");
    EXPECT_EQ(d->parameters["retries"], 1);
    EXPECT_EQ(parameters_json(*d)["actions"][0]["op"], "retry_failed");
  }
}

TEST(Decide, DeterministicForSameInputs) {
  const Snapshot s = orphan_snapshot(4, 4);
  const SystemMetrics m = measure(s, Config{}, test_now());
  const auto a = decide(s, m, Config{}, {}, test_now());
  const auto b = decide(s, m, Config{}, {}, test_now());
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_EQ(to_json(a[i]), to_json(b[i]));
}

TEST(EvidenceFactor, Model) {
  Snapshot s;
  EXPECT_DOUBLE_EQ(evidence_factor(s), 1.0);
  s.partial = true;
  EXPECT_DOUBLE_EQ(evidence_factor(s), 0.8);
  s = testing::demo_fixture();  // 17 records
  EXPECT_DOUBLE_EQ(evidence_factor(s), 1.0);
  for (int i = 0; i < 3; ++i) s.rejected.push_back({"work_x.json", "not a JSON object"});
  EXPECT_DOUBLE_EQ(evidence_factor(s), 1.0 - 3.0 / 20.0);
  s.partial = true;
  EXPECT_DOUBLE_EQ(evidence_factor(s), (1.0 - 3.0 / 20.0) * 0.8);
  Snapshot all_bad;
  all_bad.rejected.assign(10, {"agent_1.json", "symlink"});
  EXPECT_DOUBLE_EQ(evidence_factor(all_bad), 0.05);
}

TEST(EvidenceFactor, ConfidenceDropsWithRejectedFiles) {
  Snapshot s = testing::demo_fixture();
  const Config cfg;
  double last = 1.0;
  for (int rejected : {0, 2, 8, 17, 50}) {
    Snapshot t = s;
    t.rejected.assign(rejected, {"work_x.json", "too large"});
    const auto ds = decide(t, measure(t, cfg, test_now()), cfg, {}, test_now());
    ASSERT_EQ(ds.size(), 1u);
    EXPECT_DOUBLE_EQ(ds[0].confidence, 0.9 * evidence_factor(t));
    EXPECT_LE(ds[0].confidence, last);
    last = ds[0].confidence;
  }
  EXPECT_LT(last, cfg.gate.min_confidence);  // mostly rejected: below the default bar
}

TEST(EvidenceFactor, PartialSnapshotLowersConfidence) {
  Snapshot s = testing::demo_fixture();
  s.partial = true;
  const auto ds = decide(s, measure(s, Config{}, test_now()), Config{}, {}, test_now());
  ASSERT_EQ(ds.size(), 1u);
  EXPECT_DOUBLE_EQ(ds[0].confidence, 0.9 * 0.8);
}

}  // namespace
}  // namespace dslmodel

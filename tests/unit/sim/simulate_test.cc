// The simulator, and the decision quality it measures (docs/simulate.md): on every built-in
// trace and the Azure LLM trace, the default policy against the Kubernetes HPA algorithm.
#include "sim/simulate.h"

#include <gtest/gtest.h>

#include <string>

#include "sim/swarm_model.h"
#include "sim/trace.h"

namespace dslmodel::sim {
namespace {

Trace trace_named(const std::string& name) {
  if (name == "azure") {
    auto t = load_trace(DSLMODEL_TESTDATA_DIR "/traces/azure-llm-code-2023.csv");
    EXPECT_TRUE(t.ok()) << t.status().message();
    return t.ok() ? *t : Trace{};
  }
  auto t = builtin_trace(name, 1);
  EXPECT_TRUE(t.ok());
  return *t;
}

SimResult run(const Trace& t, const PolicySpec& p, SimOptions o = {}) {
  auto r = simulate(t, p, o);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? *r : SimResult{};
}

SimResult run(const Trace& t, const std::string& policy, const Config& cfg = {}) {
  auto p = builtin_policy(policy, cfg);
  EXPECT_TRUE(p.ok());
  return run(t, *p);
}

class DecisionQuality : public ::testing::TestWithParam<std::string> {};

// Acceptance: the default policy's p95 wait <= the HPA baseline's, agent-seconds <= 1.1x its,
// direction changes <= its, never outside [min_agents, max_agents], nothing lost.
TEST_P(DecisionQuality, DefaultPolicyBeatsTheHpaBaseline) {
  const Trace t = trace_named(GetParam());
  const Config cfg;
  const SimResult ours = run(t, "default");
  const SimResult hpa = run(t, "hpa");
  RecordProperty("default_p95_wait_s", std::to_string(ours.p95_wait_s));
  RecordProperty("hpa_p95_wait_s", std::to_string(hpa.p95_wait_s));
  EXPECT_LE(ours.p95_wait_s, hpa.p95_wait_s);
  EXPECT_LE(ours.agent_seconds, 1.1 * hpa.agent_seconds);
  EXPECT_LE(ours.direction_changes, hpa.direction_changes);
  EXPECT_EQ(ours.lost, 0);
  EXPECT_EQ(ours.completed, static_cast<int>(t.items.size()));
  EXPECT_LE(ours.max_agents, cfg.policy.max_agents);
  if (!ours.actions.empty()) {
    EXPECT_GE(ours.min_target, cfg.policy.min_agents);
    EXPECT_LE(ours.max_target, cfg.policy.max_agents);
  }
  // Deterministic: the same run again gives the same figures.
  const SimResult again = run(t, "default");
  EXPECT_EQ(again.p95_wait_s, ours.p95_wait_s);
  EXPECT_EQ(again.agent_seconds, ours.agent_seconds);
  EXPECT_EQ(again.scale_actions, ours.scale_actions);
}

INSTANTIATE_TEST_SUITE_P(Traces, DecisionQuality,
                         ::testing::Values("burst", "steady", "spike", "ramp", "crash", "diurnal",
                                           "azure"));

TEST(Simulate, TheBurstGoesStraightToTheNeededCount) {
  const SimResult r = run(trace_named("burst"), "default");
  ASSERT_FALSE(r.actions.empty());
  EXPECT_EQ(r.actions[0].at_s, 0.0);
  EXPECT_EQ(r.actions[0].type, "scale_up");
  EXPECT_EQ(r.actions[0].reason, "backlog_exceeds_capacity");
  // 120 × 1 s (the default service time: no samples yet) / (10 s − 2 s) → 15, capped at 10.
  EXPECT_EQ(r.actions[0].target, 10);
  EXPECT_LT(r.drain_s, 12.0);
  // The seed's step rules alone add 3 and wait for the cooldown.
  const SimResult seed = run(trace_named("burst"), "seed");
  ASSERT_FALSE(seed.actions.empty());
  EXPECT_EQ(seed.actions[0].reason, "critical_backlog");
  EXPECT_EQ(seed.actions[0].target, 4);
  EXPECT_GT(seed.drain_s, r.drain_s);
}

TEST(Simulate, ARisingTrendScalesBeforeTheRampArrives) {
  const Trace ramp = trace_named("ramp");
  Config no_trend;
  no_trend.policy.arrival_trend = false;
  const SimResult with = run(ramp, "default");
  const SimResult without = run(ramp, "default", no_trend);
  EXPECT_LT(with.p95_wait_s, without.p95_wait_s);
  EXPECT_LT(with.p50_wait_s, without.p50_wait_s);
}

TEST(Simulate, CrashedClaimsAreRequeuedByTheEngineNotByTheHpa) {
  const Trace crash = trace_named("crash");
  const SimResult ours = run(crash, "default");
  EXPECT_EQ(ours.lost, 0);
  EXPECT_EQ(ours.completed, 120);
  const SimResult hpa = run(crash, "hpa");
  EXPECT_EQ(hpa.lost, 2) << "nothing requeues the dead agents' claims";
}

TEST(Simulate, HpaAlgorithmLimitsScaleUpsAndStabilizesScaleDowns) {
  const SimResult r = run(trace_named("burst"), "hpa");
  ASSERT_GE(r.actions.size(), 1u);
  // 120 waiting / 5 per agent = 24, limited to max(1 + 4 pods, 2 × 1) in the first period.
  EXPECT_EQ(r.actions[0].target, 5);
  for (const ScaleAction& a : r.actions) {
    if (a.type == "scale_down") EXPECT_GE(a.at_s, 300.0) << "the 300 s stabilization window";
  }
}

TEST(Simulate, ItemsWaitForAgentsThatStartAfterTheLag) {
  Trace t;
  t.name = "one";
  t.items.push_back({0.0, 2.0, 0, "a"});
  PolicySpec p = *builtin_policy("default", Config{});
  SimOptions o;
  o.initial_agents = 0;
  o.startup_lag_s = 3.0;
  o.series = true;
  const SimResult r = run(t, p, o);
  EXPECT_EQ(r.completed, 1);
  EXPECT_DOUBLE_EQ(r.p95_wait_s, 3.0);  // scaled up at t = 0, the agent is up at 3 s
  EXPECT_DOUBLE_EQ(r.drain_s, 5.0);
  // Below min_agents with a critical backlog: the seed's step of 3 agents, each billed 5 s.
  EXPECT_DOUBLE_EQ(r.agent_seconds, 15.0);
  EXPECT_FALSE(r.series.empty());
}

TEST(Simulate, RejectsUnusableInput) {
  EXPECT_FALSE(simulate(Trace{}, *builtin_policy("default", Config{}), {}).ok());
  SimOptions o;
  o.interval_s = 0;
  EXPECT_FALSE(simulate(trace_named("burst"), *builtin_policy("default", Config{}), o).ok());
  EXPECT_FALSE(builtin_policy("kubernetes", Config{}).ok());
}

TEST(SwarmModel, ClaimsByPriorityThenAge) {
  Trace t;
  t.items = {{0.0, 1.0, 0, "low"}, {0.1, 1.0, 5, "high"}, {0.2, 1.0, 0, "late"}};
  ModelOptions o;
  o.initial_agents = 0;
  o.startup_lag_s = 1.0;
  SwarmModel m(t, o);
  m.advance_to(0.5);
  EXPECT_EQ(m.scale_to(1), 1);
  m.advance_to(10);
  ASSERT_TRUE(m.all_settled());
  EXPECT_DOUBLE_EQ(*m.outcomes()[1].first_claim_s, 1.5);  // high first
  EXPECT_DOUBLE_EQ(*m.outcomes()[0].first_claim_s, 2.5);
  EXPECT_DOUBLE_EQ(*m.outcomes()[2].first_claim_s, 3.5);
}

TEST(SwarmModel, StoppingABusyAgentLetsItFinish) {
  Trace t;
  t.items = {{0.0, 4.0, 0, "a"}};
  ModelOptions o;
  o.initial_agents = 2;
  SwarmModel m(t, o);
  m.advance_to(1);
  EXPECT_EQ(m.scale_to(0), -2);
  EXPECT_EQ(m.live_agents(), 0);
  EXPECT_EQ(m.billed_agents(), 1);  // the busy one, until its item is done
  m.advance_to(5);
  EXPECT_TRUE(m.all_settled());
  EXPECT_EQ(m.billed_agents(), 0);
  EXPECT_DOUBLE_EQ(m.agent_seconds_at_settle(), 1.0 + 1.0 + 3.0);
}

TEST(SwarmModel, ACrashLeavesTheClaimAndAStaleHeartbeat) {
  Trace t;
  t.items = {{0.0, 10.0, 0, "a"}};
  t.crashes = {{2.0, 1}};
  ModelOptions o;
  o.initial_agents = 1;
  o.startup_lag_s = 1.0;
  SwarmModel m(t, o);
  m.advance_to(30);
  const Snapshot s = m.snapshot();
  ASSERT_EQ(s.work.size(), 1u);
  EXPECT_EQ(s.work[0].status, "claimed");
  const AgentRecord* dead = nullptr;
  for (const AgentRecord& a : s.agents) {
    if (a.id == s.work[0].claimed_by) dead = &a;
  }
  ASSERT_NE(dead, nullptr);
  EXPECT_LT(*dead->heartbeat, *s.agents.front().heartbeat);
  EXPECT_EQ(m.live_agents(), 1) << "the supervisor replaced it";
  auto out = m.apply({{RepairOp::kRequeue, "work_a.json", dead->id, "orphaned_claim"}});
  EXPECT_EQ(out.applied, 1);
  m.advance_to(50);
  EXPECT_TRUE(m.all_settled());
}

TEST(Percentile, NearestRank) {
  EXPECT_EQ(percentile({}, 95), 0.0);
  EXPECT_EQ(percentile({3, 1, 2}, 50), 2.0);
  std::vector<double> v;
  for (int i = 1; i <= 100; ++i) v.push_back(i);
  EXPECT_EQ(percentile(v, 95), 95.0);
  EXPECT_EQ(percentile(v, 100), 100.0);
  EXPECT_EQ(percentile(v, 0), 1.0);
}

}  // namespace
}  // namespace dslmodel::sim

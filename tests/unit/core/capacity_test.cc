// The capacity model and the policy that uses it (docs/policy.md, "Sizing from capacity").
#include "dslmodel/capacity.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core_test_util.h"
#include "dslmodel/policy.h"

namespace dslmodel {
namespace {

using namespace std::chrono_literals;
using testing::agent;
using testing::completed;
using testing::test_now;
using testing::work;

// `n` completed records that each took `ms`, finished over the last minute.
void add_done(Snapshot& s, int n, int ms) {
  for (int i = 0; i < n; ++i) {
    CompletedRecord c = completed("d" + std::to_string(i), "completed", test_now() - 30s);
    c.duration = std::chrono::milliseconds(ms);
    s.completed.push_back(c);
  }
}

void add_agents(Snapshot& s, int n) {
  for (int i = 0; i < n; ++i) s.agents.push_back(agent(std::to_string(i), "active", test_now()));
}

// `n` pending items created `age` ago.
void add_pending(Snapshot& s, int n, Seconds age, const std::string& prefix = "p") {
  for (int i = 0; i < n; ++i) {
    s.work.push_back(work(prefix + std::to_string(i), "pending", test_now() - age));
  }
}

struct Evaluated {
  SystemMetrics metrics;
  CapacityEstimate cap;
  std::vector<Decision> decisions;
};

Evaluated evaluate(const Snapshot& s, const Config& cfg = {}, const DecisionHistory& h = {}) {
  Evaluated e;
  e.metrics = measure(s, cfg, test_now());
  e.cap = estimate_capacity(s, e.metrics, cfg, h, test_now());
  e.decisions = decide(s, e.metrics, cfg, h, test_now());
  return e;
}

const Decision* scale_of(const std::vector<Decision>& ds) {
  for (const Decision& d : ds) {
    if (d.type == "scale_up" || d.type == "scale_down") return &d;
  }
  return nullptr;
}

TEST(Capacity, ServiceTimeFromDurationsElseClaimToFinishElseTheDefault) {
  Snapshot s;
  Config cfg;
  EXPECT_DOUBLE_EQ(evaluate(s, cfg).cap.service_time_s, 1.0);
  EXPECT_EQ(evaluate(s, cfg).cap.service_samples, 0);
  add_done(s, 3, 500);
  CompletedRecord c = completed("x", "failed", test_now() - 10s);
  c.claimed_at = test_now() - 12s;  // 2 s between claim and finish
  s.completed.push_back(c);
  s.completed.push_back(completed("untimed", "completed", test_now()));
  const CapacityEstimate e = evaluate(s, cfg).cap;
  EXPECT_EQ(e.service_samples, 4);
  EXPECT_DOUBLE_EQ(e.service_time_s, (3 * 0.5 + 2.0) / 4);
}

TEST(Capacity, ServiceTimeComesFromTheMostRecentHundred) {
  Snapshot s;
  for (int i = 0; i < 300; ++i) {
    CompletedRecord c = completed(std::to_string(i), "completed", test_now() - Seconds(1000 - i));
    c.duration = std::chrono::milliseconds(i < 200 ? 10'000 : 1'000);  // the old ones were slow
    s.completed.push_back(c);
  }
  const CapacityEstimate e = evaluate(s).cap;
  EXPECT_EQ(e.service_samples, 100);
  EXPECT_DOUBLE_EQ(e.service_time_s, 1.0);
}

TEST(Capacity, ArrivalRateIsTheMedianQuarterWithinTheWindow) {
  Snapshot s;
  add_pending(s, 30, 10s);          // a burst in the newest quarter
  add_pending(s, 50, 120s, "old");  // outside the 60 s window
  CompletedRecord c = completed("c", "completed", test_now());
  c.created = test_now() - 20s;  // the third quarter
  s.completed.push_back(c);
  const CapacityEstimate burst = evaluate(s).cap;
  EXPECT_EQ(burst.arrivals, 31);
  EXPECT_DOUBLE_EQ(burst.arrival_rate, 0.5 / 15.0) << "quarters 0, 0, 1, 30: a burst is backlog";
  EXPECT_DOUBLE_EQ(burst.projected_rate, burst.arrival_rate) << "a burst is not a trend";
  Snapshot steady;
  for (int i = 0; i < 60; ++i) {
    steady.work.push_back(
        work("s" + std::to_string(i), "pending", test_now() - Seconds(i) - 500ms));
  }
  EXPECT_DOUBLE_EQ(evaluate(steady).cap.arrival_rate, 1.0);
}

TEST(Capacity, ARisingTrendIsProjectedOverTheStartupLag) {
  Snapshot s;
  // Quarters of the 60 s window with 2, 4, 6, 8 arrivals: a ramp.
  int n = 0;
  for (int q = 0; q < 4; ++q) {
    for (int i = 0; i < 2 * (q + 1); ++i) {
      s.work.push_back(
          work("r" + std::to_string(n++), "pending", test_now() - 60s + Seconds(15 * q + 7)));
    }
  }
  const CapacityEstimate e = evaluate(s).cap;
  EXPECT_DOUBLE_EQ(e.arrival_rate, 20.0 / 60.0);
  // The least-squares line through 2/15, 4/15, 6/15, 8/15 per s at the quarters' centres is
  // 8/15 + 1/15 (half a quarter ahead) at now; 2 s of start-up lag add 2 × 2/225.
  EXPECT_NEAR(e.projected_rate, 9.0 / 15.0 + 2.0 * 2.0 / 225.0, 1e-9);
  EXPECT_GT(e.projected_rate, e.arrival_rate);
}

TEST(Capacity, StartupLagIsTheMedianFromScaleUpToFirstHeartbeat) {
  Snapshot s;
  DecisionHistory h;
  for (int i = 0; i < 3; ++i) {
    const TimePoint up = test_now() - Seconds(300 - 100 * i);
    h.scale_ups.push_back(up);
    AgentRecord a = agent("a" + std::to_string(i), "active", test_now());
    a.created = up + Seconds(i + 1);  // 1, 2, 3 s
    s.agents.push_back(a);
    AgentRecord late = agent("b" + std::to_string(i), "active", test_now());
    late.created = up + Seconds(30);  // a second agent of the same scale-up: not the first
    s.agents.push_back(late);
  }
  const CapacityEstimate e = evaluate(s, Config{}, h).cap;
  EXPECT_EQ(e.lag_samples, 3);
  EXPECT_DOUBLE_EQ(e.startup_lag_s, 2.0);
  EXPECT_DOUBLE_EQ(evaluate(Snapshot{}).cap.startup_lag_s, 2.0);  // the default
  EXPECT_EQ(evaluate(Snapshot{}).cap.lag_samples, 0);
}

TEST(Capacity, LittlesLaw) {
  Snapshot s;
  add_done(s, 20, 500);
  add_pending(s, 60, 0s);
  for (int i = 0; i < 60; ++i) {
    CompletedRecord c = completed("a" + std::to_string(i), "completed", test_now());
    c.created = test_now() - Seconds(i) - 500ms;
    s.completed.push_back(c);
    s.work.push_back(work("w" + std::to_string(i), "pending", test_now() - 61s));
  }
  const CapacityEstimate e = evaluate(s).cap;
  EXPECT_EQ(e.backlog, 120);
  // One item a second for the last 60 s besides: 120 × 0.5 / (10 − 2) + 1 × 0.5 / 0.9.
  EXPECT_NEAR(e.drain_agents, 120 * 0.5 / 8.0, 1e-9);
  EXPECT_NEAR(e.arrival_agents, 1.0 * 0.5 / 0.9, 1e-9);
  EXPECT_EQ(e.needed, 9);  // 7.5 + 0.556
  EXPECT_EQ(e.recommended, 9);
  EXPECT_TRUE(std::isfinite(drain_seconds(e, 9)));
  EXPECT_NEAR(drain_seconds(e, 9), 2.0 + 120.0 / (9 / 0.5 - 1.0), 1e-9);
  EXPECT_TRUE(std::isinf(drain_seconds(e, 0)));
}

TEST(Capacity, NoWorkNeedsNoAgentsAndTheBoundsHold) {
  Config cfg;
  cfg.policy.min_agents = 2;
  cfg.policy.max_agents = 6;
  EXPECT_EQ(evaluate(Snapshot{}, cfg).cap.needed, 0);
  EXPECT_EQ(evaluate(Snapshot{}, cfg).cap.recommended, 2);
  Snapshot s;
  add_pending(s, 1000, 120s);
  EXPECT_EQ(evaluate(s, cfg).cap.recommended, 6);
}

// Acceptance: 5 agents, health >= 0.6, 1,000 items waiting: a scale_up naming the shortfall.
TEST(CapacityPolicy, HealthySwarmWithAThousandWaitingScalesUp) {
  Snapshot s;
  add_agents(s, 5);
  add_done(s, 4000, 500);  // many past completions keep the health up
  add_pending(s, 1000, 300s);
  const Evaluated e = evaluate(s);
  ASSERT_GE(e.metrics.health_score, 0.6);
  const Decision* d = scale_of(e.decisions);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->type, "scale_up");
  EXPECT_EQ(d->reason, "backlog_exceeds_capacity");
  EXPECT_EQ(d->scale->target_agents, 10);  // 1000 × 0.5 / 8 → 63, capped at max_agents
  EXPECT_EQ(d->parameters["needed_agents"], 10);
  EXPECT_NE(d->rationale.find("1000 waiting \u00d7 0.5 s, 0 arrivals/s: 10 agents drain it in"),
            std::string::npos)
      << d->rationale;
  EXPECT_NE(d->rationale.find("target 10 s: add 5 agents (5 \u2192 10)"), std::string::npos)
      << d->rationale;
  EXPECT_GE(d->confidence, 0.6);
}

TEST(CapacityPolicy, StepSizingIgnoresTheShortfall) {
  Snapshot s;
  add_agents(s, 5);
  add_done(s, 4000, 500);
  add_pending(s, 1000, 300s);
  Config cfg;
  cfg.policy.sizing = Sizing::kSteps;
  EXPECT_EQ(scale_of(evaluate(s, cfg).decisions), nullptr);
}

TEST(CapacityPolicy, TheLargerTargetWins) {
  // The seed's example: health 0.2 with 8 waiting and 2 agents adds 3; capacity asks for fewer.
  const Snapshot demo = testing::demo_fixture();
  const Evaluated seed_e = evaluate(demo);
  const Decision* seed = scale_of(seed_e.decisions);
  ASSERT_NE(seed, nullptr);
  EXPECT_EQ(seed->reason, "critical_backlog");
  EXPECT_EQ(seed->scale->target_agents, 5);
  // Critical with a backlog that needs more than the step: capacity's target wins.
  Snapshot s = demo;
  add_pending(s, 200, 300s, "more");
  const Evaluated big_e = evaluate(s);
  const Decision* big = scale_of(big_e.decisions);
  ASSERT_NE(big, nullptr);
  EXPECT_EQ(big->reason, "backlog_exceeds_capacity");
  EXPECT_EQ(big->scale->target_agents, 10);
}

TEST(CapacityPolicy, NoSecondScaleUpWhileTheLastOneIsStarting) {
  Snapshot s;
  add_agents(s, 1);
  add_done(s, 20, 500);
  add_pending(s, 120, 300s);
  DecisionHistory h;
  h.last_scale_up = test_now() - 3s;
  h.last_actuation = h.last_scale_up;
  h.scale_ups = {*h.last_scale_up};
  h.last_scale_up_target = 8;  // 120 × 0.5 / 8 → 8 needed
  const Evaluated starting = evaluate(s, Config{}, h);
  EXPECT_EQ(starting.cap.starting_target, 8);
  EXPECT_EQ(scale_of(starting.decisions), nullptr) << "8 agents are starting";
  h.last_scale_up_target = 2;  // asked for fewer than needed now: scale up further
  EXPECT_NE(scale_of(evaluate(s, Config{}, h).decisions), nullptr);
  h.last_scale_up_target = 8;
  h.last_scale_up = test_now() - 10s;  // past 2 × lag + 5 s: they should be up by now
  h.scale_ups = {*h.last_scale_up};
  EXPECT_EQ(evaluate(s, Config{}, h).cap.starting_target, 0);
}

TEST(CapacityPolicy, ScaleDownFollowsTheLargestRecommendationOverTheWindow) {
  Snapshot s;
  add_agents(s, 8);
  add_done(s, 20, 500);
  add_pending(s, 2, 300s);
  DecisionHistory h;
  h.recommendations = {{test_now() - 400s, 10}, {test_now() - 200s, 6}, {test_now() - 100s, 3}};
  const Evaluated e = evaluate(s, Config{}, h);
  EXPECT_EQ(e.cap.recommended, 1);
  EXPECT_EQ(e.cap.floor, 6);  // the 10 is older than 300 s
  const Decision* d = scale_of(e.decisions);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->type, "scale_down");
  EXPECT_EQ(d->reason, "excess_capacity");
  EXPECT_EQ(d->scale->target_agents, 6);
}

TEST(CapacityPolicy, NeverBelowWhatIsInProgress) {
  Snapshot s;
  add_agents(s, 8);
  add_done(s, 20, 500);
  for (int i = 0; i < 7; ++i) {
    s.work.push_back(
        work("c" + std::to_string(i), "claimed", test_now() - 300s, std::to_string(i)));
  }
  const Evaluated d_e = evaluate(s);
  const Decision* d = scale_of(d_e.decisions);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->type, "scale_down");
  EXPECT_EQ(d->scale->target_agents, 7);
}

TEST(CapacityPolicy, NoCapacityScaleDownOnAGuessedServiceTime) {
  Snapshot s;
  add_agents(s, 8);
  add_pending(s, 2, 300s);
  EXPECT_EQ(evaluate(s).cap.service_samples, 0);
  EXPECT_EQ(scale_of(evaluate(s).decisions), nullptr);
}

TEST(CapacityPolicy, SeedIdleRulesAreHeldAtTheStabilizedFloor) {
  Snapshot s;
  add_agents(s, 8);
  add_done(s, 20, 500);
  DecisionHistory h;
  h.recommendations = {{test_now() - 60s, 7}};
  const Evaluated d_e = evaluate(s, Config{}, h);
  const Decision* d = scale_of(d_e.decisions);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->type, "scale_down");
  EXPECT_EQ(d->scale->target_agents, 7);
  EXPECT_NE(d->rationale.find("held at 7"), std::string::npos) << d->rationale;
}

TEST(CapacityPolicy, ConfidenceRisesWithSamples) {
  Snapshot none;
  add_pending(none, 1000, 300s);
  Snapshot some = none;
  add_done(some, 5, 500);
  Snapshot many = none;
  add_done(many, 50, 500);
  add_pending(many, 20, 1s, "new");
  const double c0 = evaluate(none).cap.confidence;
  const double c1 = evaluate(some).cap.confidence;
  const double c2 = evaluate(many).cap.confidence;
  EXPECT_DOUBLE_EQ(c0, 0.7);
  EXPECT_LT(c0, c1);
  EXPECT_LT(c1, c2);
  EXPECT_DOUBLE_EQ(c2, 0.95);
}

}  // namespace
}  // namespace dslmodel

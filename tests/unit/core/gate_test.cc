// gate(): each skip reason, their precedence, and the per-cycle limits.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <string>
#include <vector>

#include "dslmodel/policy.h"
#include "unit/core/core_test_util.h"

namespace dslmodel {
namespace {

using namespace std::chrono_literals;
using testing::test_now;

Decision make(std::string_view type, double confidence = 0.9) {
  Decision d;
  d.type = std::string(type);
  d.confidence = confidence;
  return d;
}

GateInput live() {
  GateInput in;
  in.has_actuator = true;
  return in;
}

std::string verdict(const Decision& d, const GateInput& in, const DecisionHistory& h = {}) {
  const auto v = gate({d}, in, Config{}, h, test_now());
  EXPECT_EQ(v.size(), 1u);
  if (v[0].run) {
    EXPECT_EQ(v[0].reason, SkipReason::kNone);
    return "run";
  }
  return to_string(v[0].reason);
}

struct GateCase {
  std::string name;
  std::string_view type;
  double confidence;
  GateInput in;
  DecisionHistory history;
  std::string want;
};

class GateReasonTest : public ::testing::TestWithParam<GateCase> {};

TEST_P(GateReasonTest, Table) {
  const GateCase& c = GetParam();
  EXPECT_EQ(verdict(make(c.type, c.confidence), c.in, c.history), c.want);
}

GateInput with(void (*edit)(GateInput&)) {
  GateInput in = live();
  edit(in);
  return in;
}

DecisionHistory ago(std::optional<Seconds> scale_up, std::optional<Seconds> actuation,
                    int in_flight = 0) {
  DecisionHistory h;
  if (scale_up) h.last_scale_up = test_now() - *scale_up;
  if (actuation) h.last_actuation = test_now() - *actuation;
  h.in_flight = in_flight;
  return h;
}

std::string gate_name(const ::testing::TestParamInfo<GateCase>& i) { return i.param.name; }

INSTANTIATE_TEST_SUITE_P(
    Reasons, GateReasonTest,
    ::testing::Values(
        GateCase{"Runs", decision_type::kScaleUp, 0.9, live(), {}, "run"},
        GateCase{"RepairRunsWithoutActuator",
                 decision_type::kCoordinationImprove,
                 0.9,
                 GateInput{},
                 {},
                 "run"},
        GateCase{"RemediationDisabled",
                 decision_type::kOptimize,
                 0.9,
                 with([](GateInput& i) {
                   i.remediation_enabled = false;
                   i.is_leader = false;
                 }),
                 {},
                 "remediation_disabled"},
        GateCase{"NotLeader",
                 decision_type::kOptimize,
                 0.1,
                 with([](GateInput& i) { i.is_leader = false; }),
                 {},
                 "not_leader"},
        GateCase{"LowConfidence", decision_type::kScaleUp, 0.59, live(), {}, "low_confidence"},
        GateCase{"ConfidenceAtBarRuns", decision_type::kScaleUp, 0.6, live(), {}, "run"},
        GateCase{"ForcedConfidence",
                 decision_type::kScaleUp,
                 0.55,
                 with([](GateInput& i) { i.min_confidence = 0.5; }),
                 {},
                 "run"},
        GateCase{"NoActuator", decision_type::kScaleDown, 0.9, GateInput{}, {}, "no_actuator"},
        GateCase{"ScaleDownDelay", decision_type::kScaleDown, 0.9, live(), ago(299s, std::nullopt),
                 "scale_down_delay"},
        GateCase{"ScaleDownAfterDelay", decision_type::kScaleDown, 0.9, live(),
                 ago(300s, std::nullopt), "run"},
        GateCase{"DelayOnlyForScaleDown", decision_type::kScaleUp, 0.9, live(),
                 ago(100s, std::nullopt), "run"},
        GateCase{"DelayBeforeCooldown", decision_type::kScaleDown, 0.9, live(), ago(10s, 10s),
                 "scale_down_delay"},
        GateCase{"Cooldown", decision_type::kScaleDown, 0.9, live(), ago(std::nullopt, 59s),
                 "cooldown"},
        GateCase{"CooldownOver", decision_type::kScaleDown, 0.9, live(), ago(std::nullopt, 60s),
                 "run"},
        // Capacity sizing: scale-ups are rate-limited per scale_up_period (15 s), not held back
        // by the cooldown of the last scaling.
        GateCase{"ScaleUpIgnoresCooldown", decision_type::kScaleUp, 0.9, live(),
                 ago(std::nullopt, 5s), "run"},
        GateCase{"RateLimited", decision_type::kScaleUp, 0.9, live(), ago(14s, 14s),
                 "rate_limited"},
        GateCase{"RateLimitOver", decision_type::kScaleUp, 0.9, live(), ago(15s, 15s), "run"},
        GateCase{"CooldownOnlyForScale", decision_type::kCoordinationImprove, 0.9, live(),
                 ago(std::nullopt, 1s), "run"},
        GateCase{"MaxConcurrent", decision_type::kOptimize, 0.9, live(),
                 ago(std::nullopt, std::nullopt, 5), "max_concurrent"},
        GateCase{"MaxDecisionsZero",
                 decision_type::kOptimize,
                 0.9,
                 with([](GateInput& i) { i.max_decisions = 0; }),
                 {},
                 "max_decisions"},
        GateCase{"DryRun",
                 decision_type::kScaleUp,
                 0.9,
                 with([](GateInput& i) { i.dry_run = true; }),
                 {},
                 "dry_run"},
        GateCase{"LowConfidenceBeforeDryRun",
                 decision_type::kScaleUp,
                 0.2,
                 with([](GateInput& i) { i.dry_run = true; }),
                 {},
                 "low_confidence"}),
    gate_name);

TEST(Gate, MaxDecisionsPerCycle) {
  GateInput in = live();
  in.max_decisions = 2;
  const std::vector<Decision> ds = {make("a"), make("b", 0.1), make("c"), make("d")};
  const auto v = gate(ds, in, Config{}, {}, test_now());
  ASSERT_EQ(v.size(), 4u);
  EXPECT_TRUE(v[0].run);
  EXPECT_EQ(to_string(v[1].reason), "low_confidence");
  EXPECT_TRUE(v[2].run);
  EXPECT_EQ(to_string(v[3].reason), "max_decisions");
}

TEST(Gate, MaxConcurrentCountsInFlight) {
  GateInput in = live();
  in.max_decisions = 10;
  in.max_concurrent_decisions = 3;
  const std::vector<Decision> ds = {make("a"), make("b"), make("c")};
  const auto v = gate(ds, in, Config{}, ago(std::nullopt, std::nullopt, 1), test_now());
  EXPECT_TRUE(v[0].run);
  EXPECT_TRUE(v[1].run);
  EXPECT_EQ(to_string(v[2].reason), "max_concurrent");
}

TEST(Gate, DryRunCountsTowardLimits) {
  GateInput in = live();
  in.dry_run = true;
  in.max_decisions = 1;
  const auto v = gate({make("a"), make("b")}, in, Config{}, {}, test_now());
  EXPECT_EQ(to_string(v[0].reason), "dry_run");
  EXPECT_FALSE(v[0].run);
  EXPECT_EQ(to_string(v[1].reason), "max_decisions");
}

TEST(Gate, SecondScaleInOneCycleWaitsForCooldown) {
  const auto v = gate({make(decision_type::kScaleUp), make(decision_type::kScaleDown)}, live(),
                      Config{}, {}, test_now());
  EXPECT_TRUE(v[0].run);
  EXPECT_EQ(to_string(v[1].reason), "cooldown");
}

TEST(Gate, DelaysComeFromConfig) {
  Config cfg;
  cfg.policy.cooldown = 0s;
  cfg.policy.scale_down_delay = 10s;
  const auto v = gate({make(decision_type::kScaleDown)}, live(), cfg, ago(11s, 11s), test_now());
  EXPECT_TRUE(v[0].run);
}

TEST(Gate, ReachingMinAgentsDoesNotStartTheScaleUpPeriod) {
  DecisionHistory h = ago(2s, 2s);
  h.last_scale_up_reason = "below_min_agents";
  EXPECT_TRUE(gate({make(decision_type::kScaleUp)}, live(), Config{}, h, test_now())[0].run);
  h.last_scale_up_reason = "backlog_exceeds_capacity";
  EXPECT_EQ(gate({make(decision_type::kScaleUp)}, live(), Config{}, h, test_now())[0].reason,
            SkipReason::kRateLimited);
}

TEST(Gate, StepSizingKeepsTheCooldownForScaleUps) {
  Config cfg;
  cfg.policy.sizing = Sizing::kSteps;
  const auto held = gate({make(decision_type::kScaleUp)}, live(), cfg, ago(59s, 59s), test_now());
  EXPECT_EQ(to_string(held[0].reason), "cooldown");
  const auto runs = gate({make(decision_type::kScaleUp)}, live(), cfg, ago(60s, 60s), test_now());
  EXPECT_TRUE(runs[0].run);
}

TEST(Gate, NaNConfidenceNeverRuns) {
  EXPECT_EQ(verdict(make("x", std::nan("")), live()), "low_confidence");
}

TEST(Gate, EmptyInput) { EXPECT_TRUE(gate({}, live(), Config{}, {}, test_now()).empty()); }

}  // namespace
}  // namespace dslmodel

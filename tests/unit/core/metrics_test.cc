// Health score, health states and measure() (docs/metrics.md).
#include "dslmodel/metrics.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <string>

#include "dslmodel/config.h"
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

TEST(HealthState, Names) {
  EXPECT_EQ(to_string(HealthState::kCritical), "critical");
  EXPECT_EQ(to_string(HealthState::kDegraded), "degraded");
  EXPECT_EQ(to_string(HealthState::kHealthy), "healthy");
  EXPECT_EQ(to_string(HealthState::kOptimal), "optimal");
}

struct StateCase {
  double score;
  HealthState expected;
};

class ClassifyTest : public ::testing::TestWithParam<StateCase> {};

TEST_P(ClassifyTest, Boundaries) {
  EXPECT_EQ(classify_health(GetParam().score), GetParam().expected) << GetParam().score;
}

INSTANTIATE_TEST_SUITE_P(
    Table, ClassifyTest,
    ::testing::Values(
        StateCase{-1.0, HealthState::kCritical}, StateCase{0.0, HealthState::kCritical},
        StateCase{0.2, HealthState::kCritical},
        StateCase{0.28909090909090907, HealthState::kCritical},
        StateCase{0.29999999999999993, HealthState::kCritical},
        StateCase{0.3, HealthState::kDegraded}, StateCase{0.45, HealthState::kDegraded},
        StateCase{0.5999999999999999, HealthState::kDegraded},
        StateCase{0.6, HealthState::kHealthy}, StateCase{0.75, HealthState::kHealthy},
        StateCase{0.8999999999999999, HealthState::kHealthy}, StateCase{0.9, HealthState::kOptimal},
        StateCase{0.95, HealthState::kOptimal}, StateCase{1.0, HealthState::kOptimal},
        StateCase{std::numeric_limits<double>::quiet_NaN(), HealthState::kCritical}));

SystemMetrics metrics(double completion, std::int64_t agents, std::int64_t queue,
                      std::int64_t telemetry_volume) {
  SystemMetrics m;
  m.completion_rate = completion;
  m.active_agents = agents;
  m.work_queue_size = queue;
  m.telemetry_volume = telemetry_volume;
  return m;
}

// The formula evaluated exactly as the seed writes it, for comparison bit by bit.
double seed_formula(double c, double a, double q, double t) {
  return std::min(c * 0.4 + std::min(a / 5.0, 1.0) * 0.3 + std::max(0.0, 1.0 - q / 10.0) * 0.2 +
                      std::min(t / 20.0, 1.0) * 0.1,
                  1.0);
}

TEST(HealthScore, DemoFixtureExact) {
  const double h = compute_health_score(metrics(3.0 / 11.0, 2, 8, 4));
  EXPECT_DOUBLE_EQ(h, 0.28909090909090907);
  EXPECT_TRUE(h == 0.28909090909090907);
}

TEST(HealthScore, MatchesSeedFormulaBitForBit) {
  for (std::int64_t a = 0; a <= 12; ++a) {
    for (std::int64_t q = 0; q <= 25; q += 3) {
      for (std::int64_t t = 0; t <= 30; t += 7) {
        for (double c : {0.0, 0.1, 1.0 / 3.0, 0.5, 0.9, 1.0}) {
          const double expected = seed_formula(c, static_cast<double>(a), static_cast<double>(q),
                                               static_cast<double>(t));
          EXPECT_TRUE(compute_health_score(metrics(c, a, q, t)) == expected)
              << c << " " << a << " " << q << " " << t;
        }
      }
    }
  }
}

TEST(HealthScore, SaturatesAndCapsAtOne) {
  // 0.4 + 0.3 + 0.2 + 0.1 in doubles is 0.9999999999999999, exactly as in the seed.
  EXPECT_EQ(compute_health_score(metrics(1.0, 50, 0, 500)), 0.9999999999999999);
  EXPECT_EQ(classify_health(compute_health_score(metrics(1.0, 50, 0, 500))), HealthState::kOptimal);
  EXPECT_EQ(compute_health_score(metrics(0.0, 0, 100, 0)), 0.0);
  HealthWeights heavy;
  heavy.completion = 2.0;
  EXPECT_EQ(compute_health_score(metrics(1.0, 0, 0, 0), heavy), 1.0);
}

TEST(HealthScore, CustomWeightsAsInTheSeed) {
  HealthWeights w{.completion = 0.5,
                  .agents = 0.2,
                  .queue = 0.2,
                  .telemetry = 0.1,
                  .agent_saturation = 3.0,
                  .queue_saturation = 5.0,
                  .telemetry_saturation = 10.0};
  const SystemMetrics m = metrics(0.5, 2, 2, 5);
  const double expected = 0.5 * 0.5 + std::min(2 / 3.0, 1.0) * 0.2 +
                          std::max(0.0, 1.0 - 2 / 5.0) * 0.2 + std::min(5 / 10.0, 1.0) * 0.1;
  EXPECT_TRUE(compute_health_score(m, w) == expected);
}

TEST(HealthScore, ZeroSaturationIsNeverNaN) {
  HealthWeights w;
  w.agent_saturation = 0.0;
  w.queue_saturation = 0.0;
  w.telemetry_saturation = 0.0;
  EXPECT_FALSE(std::isnan(compute_health_score(metrics(0.0, 0, 0, 0), w)));
  EXPECT_DOUBLE_EQ(compute_health_score(metrics(0.0, 1, 1, 1), w), 0.4);
}

TEST(Measure, DemoFixture) {
  const SystemMetrics m = measure(testing::demo_fixture(), Config{}, test_now());
  EXPECT_EQ(m.active_agents, 2);
  EXPECT_EQ(m.total_agents, 2);
  EXPECT_EQ(m.work_queue_size, 8);
  EXPECT_EQ(m.pending, 8);
  EXPECT_EQ(m.in_progress, 0);
  EXPECT_EQ(m.succeeded, 3);
  EXPECT_EQ(m.failed, 0);
  EXPECT_EQ(m.telemetry_volume, 4);
  EXPECT_EQ(m.files_read, 17);
  EXPECT_EQ(m.rejected_files, 0);
  EXPECT_DOUBLE_EQ(m.completion_rate, 3.0 / 11.0);
  EXPECT_DOUBLE_EQ(m.health_score, 0.28909090909090907);
  EXPECT_TRUE(m.health_score == 0.28909090909090907);
  EXPECT_EQ(m.health_state, HealthState::kCritical);
}

struct AgentCase {
  std::string status;
  std::optional<Seconds> heartbeat_age;  // nullopt: no heartbeat
  bool invalid = false;
  bool active;
};

class AgentActiveTest : public ::testing::TestWithParam<AgentCase> {};

TEST_P(AgentActiveTest, StatusAndHeartbeat) {
  const AgentCase& c = GetParam();
  AgentRecord a = agent("1", c.status);
  if (c.heartbeat_age) a.heartbeat = test_now() - *c.heartbeat_age;
  a.heartbeat_invalid = c.invalid;
  EXPECT_EQ(agent_is_active(a, 60s, test_now()), c.active) << c.status;
}

INSTANTIATE_TEST_SUITE_P(
    Table, AgentActiveTest,
    ::testing::Values(
        AgentCase{"", std::nullopt, false, true}, AgentCase{"active", std::nullopt, false, true},
        AgentCase{"idle", std::nullopt, false, true}, AgentCase{"busy", std::nullopt, false, true},
        AgentCase{"working", std::nullopt, false, true},
        AgentCase{"running", std::nullopt, false, true},
        AgentCase{"Active", std::nullopt, false, true},
        AgentCase{"RUNNING", std::nullopt, false, true},
        AgentCase{"draining", std::nullopt, false, false},
        AgentCase{"stopped", std::nullopt, false, false},
        AgentCase{"failed", std::nullopt, false, false},
        AgentCase{"sleeping", std::nullopt, false, false}, AgentCase{"active", 0s, false, true},
        AgentCase{"active", 60s, false, true}, AgentCase{"active", 61s, false, false},
        AgentCase{"active", -30s, false, true}, AgentCase{"", 3600s, false, false},
        AgentCase{"active", std::nullopt, true, false}, AgentCase{"stopped", 1s, false, false}));

TEST(Measure, HeartbeatTimeoutComesFromConfig) {
  Snapshot s;
  AgentRecord a = agent("1");
  a.heartbeat = test_now() - 90s;
  s.agents.push_back(a);
  Config cfg;
  EXPECT_EQ(measure(s, cfg, test_now()).active_agents, 0);
  cfg.policy.agent_timeout = 120s;
  EXPECT_EQ(measure(s, cfg, test_now()).active_agents, 1);
}

TEST(Measure, WorkStatuses) {
  Snapshot s;
  for (const char* st : {"pending", "", "PENDING", "claimed", "in_progress", "running", "blocked",
                         "completed", "failed", "cancelled", "dead"}) {
    s.work.push_back(work(std::string("w") + st, st));
  }
  const SystemMetrics m = measure(s, Config{}, test_now());
  EXPECT_EQ(m.work_queue_size, 7);  // pending x3, claimed, in_progress, running, blocked
  EXPECT_EQ(m.pending, 3);
  EXPECT_EQ(m.in_progress, 3);
}

TEST(Measure, CompletionCountsAndArchivedTotals) {
  Snapshot s;
  for (const char* st :
       {"", "completed", "success", "succeeded", "done", "failed", "error", "cancelled"}) {
    s.completed.push_back(completed(std::string("c") + st, st));
  }
  s.work.push_back(work("1"));
  s.archived = {.succeeded = 10, .failed = 4, .telemetry = 7};
  s.telemetry.push_back(telemetry("1", std::nullopt, 5));
  s.telemetry.push_back(telemetry("2"));
  const SystemMetrics m = measure(s, Config{}, test_now());
  EXPECT_EQ(m.succeeded, 15);
  EXPECT_EQ(m.failed, 6);
  EXPECT_EQ(m.work_queue_size, 1);
  EXPECT_DOUBLE_EQ(m.completion_rate, 15.0 / 22.0);
  EXPECT_EQ(m.telemetry_volume, 13);
}

TEST(Measure, EmptySnapshot) {
  const SystemMetrics m = measure(Snapshot{}, Config{}, test_now());
  EXPECT_EQ(m.completion_rate, 0.0);
  EXPECT_EQ(m.files_read, 0);
  // 0 + 0 + 1.0*0.2 + 0
  EXPECT_DOUBLE_EQ(m.health_score, 0.2);
  EXPECT_EQ(m.health_state, HealthState::kCritical);
}

TEST(Measure, RejectedFilesCountOnlyAsRead) {
  Snapshot s = testing::demo_fixture();
  s.rejected.push_back({"agent_9.json", "not a JSON object"});
  s.rejected.push_back({"work_9.json", "symlink"});
  const SystemMetrics m = measure(s, Config{}, test_now());
  EXPECT_EQ(m.rejected_files, 2);
  EXPECT_EQ(m.files_read, 19);
  EXPECT_TRUE(m.health_score == 0.28909090909090907);
}

TEST(Measure, UsesConfiguredWeights) {
  Config cfg;
  cfg.health.agent_saturation = 2.0;
  const Snapshot s = testing::demo_fixture();
  const SystemMetrics m = measure(s, cfg, test_now());
  EXPECT_TRUE(m.health_score == compute_health_score(m, cfg.health));
  EXPECT_DOUBLE_EQ(m.health_score, 3.0 / 11.0 * 0.4 + 0.3 + (1.0 - 0.8) * 0.2 + 0.02);
  EXPECT_EQ(m.health_state, classify_health(m.health_score));
}

}  // namespace
}  // namespace dslmodel

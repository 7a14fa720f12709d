// Randomized snapshots (fixed seed) checked against the invariants of docs/policy.md after
// decide (which normalizes) and gate.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "dslmodel/policy.h"
#include "unit/core/core_test_util.h"

namespace dslmodel {
namespace {

using namespace std::chrono_literals;
using testing::test_now;

constexpr int kCases = 3000;

class Gen {
 public:
  explicit Gen(std::uint32_t seed) : rng_(seed) {}

  int range(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  bool chance(double p) { return std::bernoulli_distribution(p)(rng_); }
  template <typename T>
  const T& pick(const std::vector<T>& v) {
    return v[static_cast<std::size_t>(range(0, static_cast<int>(v.size()) - 1))];
  }
  // Absent, or up to max_age before now (sometimes slightly in the future).
  std::optional<TimePoint> time(Seconds max_age) {
    if (chance(0.2)) return std::nullopt;
    const auto age = std::uniform_int_distribution<std::int64_t>(-30, max_age.count())(rng_);
    return test_now() - Seconds(age);
  }

 private:
  std::mt19937 rng_;
};

Config random_config(Gen& g) {
  Config cfg;
  cfg.policy.min_agents = g.range(0, 4);
  cfg.policy.max_agents = cfg.policy.min_agents + g.range(0, 12);
  cfg.policy.scale_factor = g.pick<double>({0.0, 0.5, 1.0, 1.5, 2.0, 3.0});
  cfg.policy.repair_batch = g.range(0, 12);
  cfg.policy.agent_timeout = Seconds(g.pick<int>({30, 60, 120}));
  cfg.policy.archive_min_files = g.range(0, 20);
  cfg.policy.retention = g.chance(0.5) ? Seconds(3600) : Seconds(7 * 86400);
  cfg.policy.max_work_age = g.chance(0.5) ? Seconds(86400) : Seconds(7 * 86400);
  cfg.policy.sizing = g.chance(0.3) ? Sizing::kSteps : Sizing::kCapacity;
  cfg.policy.target_drain = Seconds(g.pick<int>({0, 5, 20, 120}));
  cfg.policy.target_utilization = g.pick<double>({0.05, 0.5, 0.9, 1.0});
  cfg.policy.arrival_window = Seconds(g.pick<int>({0, 60, 600}));
  cfg.policy.scale_down_window = Seconds(g.pick<int>({0, 60, 300}));
  return cfg;
}

void add_agents(Gen& g, Snapshot& s) {
  const std::vector<std::string> statuses = {"",        "active", "idle",     "busy",    "working",
                                             "running", "Busy",   "draining", "stopped", "failed"};
  for (int i = g.range(0, 15); i > 0; --i) {
    AgentRecord a = testing::agent(std::to_string(i), g.pick(statuses), g.time(300s));
    a.heartbeat_invalid = g.chance(0.05);
    s.agents.push_back(a);
  }
}

void add_work(Gen& g, Snapshot& s) {
  const std::vector<std::string> statuses = {
      "",          "pending", "pending",   "claimed", "in_progress", "running",
      "completed", "failed",  "cancelled", "dead",    "blocked"};
  for (int i = g.range(0, 30); i > 0; --i) {
    const std::string owner = g.chance(0.3) ? "ghost" : std::to_string(g.range(0, 16));
    WorkRecord w = testing::work(std::to_string(i), g.pick(statuses), g.time(Seconds(2 * 86400)),
                                 g.chance(0.1) ? "" : owner);
    w.claimed_at = g.time(3600s);
    if (g.chance(0.3)) w.lease_expires = test_now() + Seconds(g.range(-600, 600));
    w.attempts = g.range(0, 5);
    if (g.chance(0.3)) w.max_attempts = g.range(0, 6);
    s.work.push_back(w);
  }
}

Snapshot random_snapshot(Gen& g) {
  Snapshot s;
  add_agents(g, s);
  add_work(g, s);
  const std::vector<std::string> done = {"", "completed", "success", "failed", "error", "odd"};
  for (int i = g.range(0, 20); i > 0; --i) {
    CompletedRecord c = testing::completed(std::to_string(i), g.pick(done),
                                           g.time(Seconds(10 * 86400)), g.chance(0.3));
    if (g.chance(0.5)) c.duration = std::chrono::milliseconds(g.range(0, 5000));
    c.created = g.time(120s);
    s.completed.push_back(c);
  }
  for (int i = g.range(0, 30); i > 0; --i) {
    s.telemetry.push_back(
        testing::telemetry(std::to_string(i), g.time(Seconds(10 * 86400)), g.range(0, 4)));
  }
  for (int i = g.range(0, 5) - 2; i > 0; --i) s.rejected.push_back({"work_x.json", "symlink"});
  s.partial = g.chance(0.1);
  s.archived = {.succeeded = g.range(0, 5), .failed = g.range(0, 5), .telemetry = g.range(0, 5)};
  return s;
}

// Metrics not derived from any snapshot: the policy's invariants hold for any input.
SystemMetrics random_metrics(Gen& g) {
  SystemMetrics m;
  m.active_agents = g.range(0, 20);
  m.work_queue_size = g.range(0, 3) == 0 ? 0 : g.range(0, 40);
  m.in_progress = g.range(0, static_cast<int>(m.work_queue_size));
  m.pending = m.work_queue_size - m.in_progress;
  m.health_score = g.pick<double>({0.0, 0.1, 0.29, 0.3, 0.45, 0.5999999999999999, 0.6, 0.75,
                                   0.8999999999999999, 0.9, 0.95, 1.0});
  m.health_state = classify_health(m.health_score);
  return m;
}

DecisionHistory random_history(Gen& g) {
  DecisionHistory h;
  h.last_scale_up = g.time(600s);
  h.last_actuation = g.time(600s);
  h.in_flight = g.range(0, 6);
  if (h.last_scale_up && g.chance(0.7)) {
    h.scale_ups.push_back(*h.last_scale_up);
    h.last_scale_up_target = g.range(0, 20);
  }
  for (int i = g.range(0, 4); i > 0; --i) {
    if (auto at = g.time(600s)) h.recommendations.push_back({*at, g.range(0, 20)});
  }
  return h;
}

GateInput random_gate(Gen& g) {
  GateInput in;
  in.min_confidence = g.pick<double>({0.0, 0.5, 0.6, 0.8, 0.95});
  in.max_decisions = g.range(0, 4);
  in.max_concurrent_decisions = g.range(0, 6);
  in.dry_run = g.chance(0.2);
  in.is_leader = g.chance(0.9);
  in.has_actuator = g.chance(0.8);
  in.remediation_enabled = g.chance(0.9);
  return in;
}

bool is_scale(const Decision& d) { return d.type == "scale_up" || d.type == "scale_down"; }

void check_scale(const Decision& d, const SystemMetrics& m, const Config& cfg) {
  const std::int64_t s = m.active_agents;
  const std::int64_t target = d.scale->target_agents;
  EXPECT_GE(target, cfg.policy.min_agents) << d.rationale;
  EXPECT_LE(target, cfg.policy.max_agents) << d.rationale;
  EXPECT_EQ(d.scale->current_agents.value_or(-1), s);
  EXPECT_EQ(parameters_json(d).at("delta").get<std::int64_t>(), target - s);
  if (d.type == "scale_up") {
    EXPECT_GT(target, s) << d.rationale;
    if (m.work_queue_size == 0) {
      EXPECT_LT(s, cfg.policy.min_agents) << "scale up with no work: " << d.rationale;
      EXPECT_EQ(d.reason, "below_min_agents");
    }
  } else {
    EXPECT_LT(target, s) << d.rationale;
  }
}

void check_repairs(const Decision& d, const Snapshot& snap, const Config& cfg) {
  const nlohmann::json actions = parameters_json(d).at("actions");
  EXPECT_EQ(d.parameters.at("items").get<std::size_t>(), actions.size());
  EXPECT_LE(actions.size(), static_cast<std::size_t>(cfg.policy.repair_batch));
  std::set<std::string> files;
  for (const auto& a : actions) {
    EXPECT_TRUE(files.insert(a.at("file").get<std::string>()).second) << "file repaired twice";
    bool found = false;
    for (const WorkRecord& w : snap.work) {
      if (w.file != a.at("file")) continue;
      found = true;
      EXPECT_NE(w.status, "completed");
      EXPECT_NE(w.status, "dead");
      if (a.at("op") == "requeue") {
        EXPECT_EQ(a.at("expect_claimed_by"), w.claimed_by);
      }
    }
    EXPECT_TRUE(found);
  }
}

void check_decisions(const std::vector<Decision>& ds, const Snapshot& snap, const SystemMetrics& m,
                     const Config& cfg) {
  int scale_count = 0;
  const std::string prefix = "dec-" + std::to_string(unix_millis(test_now())) + "-";
  for (std::size_t i = 0; i < ds.size(); ++i) {
    const Decision& d = ds[i];
    if (i > 0) {
      EXPECT_GE(ds[i - 1].priority, d.priority);
    }
    EXPECT_EQ(d.id, prefix + std::to_string(i + 1));
    EXPECT_EQ(d.created_at, test_now());
    EXPECT_GE(d.confidence, 0.0);
    EXPECT_LE(d.confidence, evidence_factor(snap) + 1e-12);
    EXPECT_FALSE(d.rationale.empty());
    EXPECT_FALSE(d.reason.empty());
    if (is_scale(d)) {
      ++scale_count;
      check_scale(d, m, cfg);
    }
    if (d.type == "coordination_improve") check_repairs(d, snap, cfg);
  }
  EXPECT_LE(scale_count, 1) << "more than one scale decision (up and down?)";
}

void check_gate(const std::vector<Decision>& ds, const std::vector<GateVerdict>& v,
                const GateInput& in, const Config& cfg, const DecisionHistory& h) {
  ASSERT_EQ(v.size(), ds.size());
  int runs = 0;
  for (std::size_t i = 0; i < ds.size(); ++i) {
    if (!v[i].run) {
      EXPECT_NE(v[i].reason, SkipReason::kNone);
      continue;
    }
    ++runs;
    EXPECT_FALSE(in.dry_run);
    EXPECT_TRUE(in.is_leader);
    EXPECT_TRUE(in.remediation_enabled);
    EXPECT_GE(ds[i].confidence, in.min_confidence);
    if (is_scale(ds[i])) {
      EXPECT_TRUE(in.has_actuator);
      const bool up = ds[i].type == "scale_up";
      if (up && cfg.policy.sizing == Sizing::kCapacity) {
        if (h.last_scale_up) {
          EXPECT_GE(test_now() - *h.last_scale_up, cfg.policy.scale_up_period);
        }
      } else if (h.last_actuation) {
        EXPECT_GE(test_now() - *h.last_actuation, cfg.policy.cooldown);
      }
      if (ds[i].type == "scale_down" && h.last_scale_up) {
        EXPECT_GE(test_now() - *h.last_scale_up, cfg.policy.scale_down_delay);
      }
    }
  }
  EXPECT_LE(runs, std::max(0, in.max_decisions));
  if (runs > 0) {
    EXPECT_LE(h.in_flight + runs, in.max_concurrent_decisions);
  }
}

// Capacity sizing: a scale-down never goes below the items in progress or below the largest
// recommendation over the stabilization window (both within [min, max]).
void check_stabilized(const std::vector<Decision>& ds, const SystemMetrics& m, const Config& cfg,
                      const DecisionHistory& h) {
  if (cfg.policy.sizing != Sizing::kCapacity) return;
  std::int64_t floor = m.in_progress;
  for (const Recommendation& r : h.recommendations) {
    if (r.at <= test_now() && test_now() - r.at < cfg.policy.scale_down_window) {
      floor = std::max(floor, r.agents);
    }
  }
  floor = std::clamp<std::int64_t>(floor, cfg.policy.min_agents,
                                   std::max(cfg.policy.min_agents, cfg.policy.max_agents));
  for (const Decision& d : ds) {
    if (d.type != "scale_down") continue;
    EXPECT_GE(d.scale->target_agents, floor) << d.rationale;
  }
}

TEST(Invariants, RandomSnapshots) {
  Gen g(20250627);
  std::map<std::string, int> seen;  // decision type or gate reason -> cases
  for (int i = 0; i < kCases; ++i) {
    SCOPED_TRACE("case " + std::to_string(i));
    const Config cfg = random_config(g);
    const Snapshot snap = random_snapshot(g);
    const SystemMetrics measured = measure(snap, cfg, test_now());
    EXPECT_GE(measured.health_score, 0.0);
    EXPECT_LE(measured.health_score, 1.0);
    EXPECT_EQ(measured.health_state, classify_health(measured.health_score));
    EXPECT_LE(measured.pending + measured.in_progress, measured.work_queue_size);
    EXPECT_LE(measured.active_agents, measured.total_agents);
    const SystemMetrics m = g.chance(0.5) ? measured : random_metrics(g);
    const DecisionHistory h = random_history(g);
    const auto ds = decide(snap, m, cfg, h, test_now());
    check_decisions(ds, snap, m, cfg);
    check_stabilized(ds, m, cfg, h);
    const GateInput in = random_gate(g);
    const auto verdicts = gate(ds, in, cfg, h, test_now());
    check_gate(ds, verdicts, in, cfg, h);
    for (const Decision& d : ds) ++seen[d.type + "/" + d.reason];
    for (const GateVerdict& v : verdicts) ++seen[v.run ? std::string("run") : to_string(v.reason)];
    const auto again = decide(snap, m, cfg, h, test_now());
    ASSERT_EQ(again.size(), ds.size());
    for (std::size_t k = 0; k < ds.size(); ++k) EXPECT_EQ(to_json(again[k]), to_json(ds[k]));
    if (HasFailure()) break;  // one readable failure, not thousands
  }
  // The generator reaches every rule and every gate outcome.
  for (const char* key : {"scale_up/below_min_agents",
                          "scale_up/critical_backlog",
                          "scale_up/degraded_backlog",
                          "scale_down/above_max_agents",
                          "scale_down/over_provisioned",
                          "scale_down/idle_capacity",
                          "scale_up/backlog_exceeds_capacity",
                          "scale_down/excess_capacity",
                          "coordination_improve/orphaned_claims",
                          "coordination_improve/expired_leases",
                          "coordination_improve/stale_work",
                          "optimize/retry_failures",
                          "optimize/compaction",
                          "run",
                          "low_confidence",
                          "max_decisions",
                          "max_concurrent",
                          "dry_run",
                          "not_leader",
                          "no_actuator",
                          "cooldown",
                          "rate_limited",
                          "scale_down_delay",
                          "remediation_disabled"}) {
    EXPECT_GT(seen[key], 0) << key;
  }
}

}  // namespace
}  // namespace dslmodel

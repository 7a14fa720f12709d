// `dsl auto simulate` (docs/simulate.md): the engine's own decide and gate, on a virtual clock,
// against a model swarm, side by side with the Kubernetes HPA algorithm as a baseline.
//
// An engine policy runs a real AutonomousDecisionEngine whose clock, store, journal and actuator
// are the model's: every cycle measures, decides, gates, journals and acts exactly as
// `dsl auto loop` does. Not thread-safe; each simulate() call is independent.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dslmodel/config.h"
#include "dslmodel/snapshot.h"
#include "dslmodel/status.h"
#include "sim/plot.h"
#include "sim/trace.h"

namespace dslmodel::sim {

// The Kubernetes HPA algorithm with its documented defaults (docs/simulate.md), fed the backlog
// (pending + in progress) as an external metric with an AverageValue target per agent.
struct HpaOptions {
  double target_per_agent = 5.0;    // KEDA's default queue length per replica
  double sync_period_s = 15.0;      // --horizontal-pod-autoscaler-sync-period
  double tolerance = 0.1;           // --horizontal-pod-autoscaler-tolerance
  double scale_up_period_s = 15.0;  // scaleUp policies: 4 pods or 100% per 15 s (the larger)
  int scale_up_pods = 4;
  double scale_up_percent = 100.0;
  double scale_down_window_s = 300.0;  // scaleDown stabilizationWindowSeconds
};

struct PolicySpec {
  enum class Kind { kEngine, kHpa };
  std::string name;  // "default", "seed", "hpa", or a config file's name
  Kind kind = Kind::kEngine;
  Config config;  // min/max agents for every kind; the whole engine configuration for kEngine
  HpaOptions hpa;
};

struct SimOptions {
  double interval_s = 15.0;    // between engine cycles
  double first_cycle_s = 0.0;  // when the first cycle runs
  double startup_lag_s = 1.0;  // scale-up to first heartbeat of a model agent
  // Agents already running at t = 0; -1: min_agents of the policy.
  int initial_agents = -1;
  // After the last arrival, how long the run may go on before what is left counts as lost.
  double horizon_after_s = 3600.0;
  TimePoint origin{};   // the wall-clock time of t = 0 (default: 2026-01-01T00:00:00Z)
  bool series = false;  // keep a sample per cycle (for --plot)
};

struct ScaleAction {
  double at_s = 0.0;
  std::string type;  // scale_up | scale_down
  int from = 0;
  int target = 0;
  std::string reason;
};

struct SimResult {
  std::string policy;
  double drain_s = 0.0;  // when the last item was done (or the run ended)
  double p50_wait_s = 0.0, p95_wait_s = 0.0, max_wait_s = 0.0;  // arrival to first claim
  double agent_seconds = 0.0;          // agents running or starting, integrated until drain_s
  int max_agents = 0;                  // most agents running or starting at once
  int min_target = 0, max_target = 0;  // the smallest and largest count any action asked for
  int direction_changes = 0;           // scale actions that reversed the previous one's direction
  int scale_actions = 0;
  int lost = 0;  // items never done: dead-lettered, or still queued when the run ended
  int completed = 0;
  int cycles = 0;
  std::vector<ScaleAction> actions;
  std::vector<Sample> series;
};

// Runs one policy over a trace. Fails (kInvalidArgument) only on an unusable configuration.
Result<SimResult> simulate(const Trace& trace, const PolicySpec& policy, const SimOptions& options);

// The built-in policies for a configuration in force: "default" (it), "seed" (it with the
// seed's step sizing: Sizing::kSteps) and "hpa" (its min/max agents). Others: kInvalidArgument.
Result<PolicySpec> builtin_policy(const std::string& name, const Config& in_force);

// Nearest-rank percentile (p in [0, 100]) of unsorted values; 0 for none.
double percentile(std::vector<double> values, double p);

}  // namespace dslmodel::sim

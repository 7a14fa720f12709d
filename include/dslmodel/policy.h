// The pure core: measure, decide and gate (docs/architecture.md, docs/metrics.md, docs/policy.md).
//
// Every function here is a pure function of its arguments: no I/O, no clock, no globals. The
// same inputs give the same outputs, so `dsl auto analyze` shows exactly what `execute` would do.
// Thread-safe: plain functions of values.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "dslmodel/config.h"
#include "dslmodel/decision.h"
#include "dslmodel/metrics.h"
#include "dslmodel/snapshot.h"
#include "dslmodel/store.h"

namespace dslmodel {

// The agent count the capacity model recommended at some moment (docs/policy.md).
struct Recommendation {
  TimePoint at{};
  std::int64_t agents = 0;
};

// What the engine did before, as far as the policy and the gate need it. Built from the journal
// so that it survives a restart and a failover.
struct DecisionHistory {
  std::optional<TimePoint> last_scale_up;    // last executed scale_up
  std::optional<TimePoint> last_scale_down;  // last executed scale_down
  std::optional<TimePoint> last_actuation;   // last executed scale_up or scale_down
  int in_flight = 0;                         // decisions with an intent but no outcome yet
  // Executed scale-ups, oldest first (the most recent few): the start-up lag is measured from
  // them to the first heartbeat of the agents they started.
  std::vector<TimePoint> scale_ups;
  std::optional<std::int64_t> last_scale_up_target;  // target_agents of last_scale_up
  std::string last_scale_up_reason;                  // its reason, e.g. "below_min_agents"
  // Past recommendations, oldest first: the scale-down stabilization window reads them.
  std::vector<Recommendation> recommendations;
};

// docs/metrics.md: counts and health of a snapshot at `now`, with the health score computed by
// compute_health_score(weights).
SystemMetrics measure(const Snapshot& snap, const Config& cfg, TimePoint now);

// True when an agent record counts as active at `now` (status and heartbeat rules of §4).
bool agent_is_active(const AgentRecord& a, Seconds agent_timeout, TimePoint now);

// The repairs coordination_improve would make now, oldest first, at most cfg.policy.repair_batch.
std::vector<RepairAction> plan_queue_repairs(const Snapshot& snap, const Config& cfg,
                                             TimePoint now);

// What the host that checks a claim sees of the processes the claim recorded (ClaimProcesses).
struct ClaimProcessFacts {
  bool same_pid_space = false;  // the claim was recorded in the checker's pid space
  bool agent_running = false;   // the agent (pid, pid_start) is alive
  bool group_running = false;   // a process of the item's group (pgid, pgid_start) remains
};

// Why a requeue of a claim must wait (docs/agents.md, "Exactly once"): while its agent or any
// process of its item's group may still run, requeueing would run the item twice. nullopt when
// the requeue may go ahead: nothing recorded, another pid space (another host: the lease rule
// alone decides), or nothing of the claim left running.
std::optional<std::string> requeue_wait_reason(const std::optional<ClaimProcesses>& recorded,
                                               const ClaimProcessFacts& facts);

// The compaction and retries optimize would make now.
std::vector<RepairAction> plan_optimizations(const Snapshot& snap, const Config& cfg,
                                             TimePoint now);

// The built-in policy: decisions for this state, highest priority first. Ids are
// "dec-<unix_ms>-<n>", created_at is now. Honours every invariant of docs/policy.md.
std::vector<Decision> decide(const Snapshot& snap, const SystemMetrics& metrics, const Config& cfg,
                             const DecisionHistory& history, TimePoint now);

// A decision normalize_decisions() did not keep, and why (for analyze and the cycle's report).
struct DroppedDecision {
  Decision decision;
  std::string why;
};

// Orders decisions by priority (higher first, stable), lifts custom payloads (lift_payload),
// clamps scale targets into [min_agents, max_agents], and drops what would break an invariant: a
// scale decision without a target, one whose clamped target does not move the count its way, a
// second scale decision in one cycle. What it drops goes to `dropped` when given.
std::vector<Decision> normalize_decisions(std::vector<Decision> decisions, const Config& cfg,
                                          std::vector<DroppedDecision>* dropped = nullptr);

// Evidence factor in (0, 1]: 1 - rejected/read, times 0.8 when the snapshot is partial.
double evidence_factor(const Snapshot& snap);

struct GateInput {
  double min_confidence = 0.6;  // already lowered by --force-confidence when given
  int max_decisions = 3;
  int max_concurrent_decisions = 5;
  bool dry_run = false;
  bool is_leader = true;
  bool has_actuator = false;
  bool remediation_enabled = true;
};

// Why a decision does not run (docs/policy.md lists them in the gate's order).
enum class SkipReason {
  kNone,  // it runs
  kRemediationDisabled,
  kNotLeader,
  kLowConfidence,
  kNoActuator,
  kScaleDownDelay,
  kCooldown,
  kRateLimited,
  kMaxConcurrent,
  kMaxDecisions,
  kDryRun,
  kNoExecutor,  // a custom type no executor is registered for (the engine's check)
};

// The journal and output word: "remediation_disabled", "not_leader", "low_confidence",
// "no_actuator", "scale_down_delay", "cooldown", "rate_limited", "max_concurrent",
// "max_decisions", "dry_run", "no_executor"; "" for kNone.
std::string to_string(SkipReason reason);

struct GateVerdict {
  bool run = false;
  SkipReason reason = SkipReason::kNone;  // when !run: why
};

// One verdict per decision, in the order given (which should be priority order).
std::vector<GateVerdict> gate(const std::vector<Decision>& decisions, const GateInput& in,
                              const Config& cfg, const DecisionHistory& history, TimePoint now);

}  // namespace dslmodel

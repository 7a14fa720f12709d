// The built-in decision policy (docs/policy.md: its rules and confidence model).
#include "dslmodel/policy.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <utility>

#include "core/rules.h"
#include "dslmodel/capacity.h"
#include "dslmodel/time.h"

namespace dslmodel {
namespace {

constexpr double kBelowMinConfidence = 0.95;
constexpr double kAboveMaxConfidence = 0.95;
constexpr double kCriticalConfidence = 0.9;
constexpr double kDegradedConfidence = 0.75;
constexpr double kOverProvisionedConfidence = 0.85;
constexpr double kIdleConfidence = 0.7;
constexpr double kRepairClearConfidence = 0.95;
constexpr double kRepairUnclearConfidence = 0.8;
constexpr double kOptimizeConfidence = 0.75;

constexpr int kScaleBoundsPriority = 10;
constexpr int kCriticalPriority = 10;
constexpr int kCapacityPriority = 9;
constexpr int kContradictingSamples = 10;  // service-time samples that outweigh a step rule
constexpr double kContradictedFactor = 0.5;
constexpr int kExcessPriority = 5;
constexpr int kDegradedPriority = 7;
constexpr int kOverProvisionedPriority = 6;
constexpr int kIdlePriority = 4;
constexpr int kRepairPriority = 8;
constexpr int kOptimizePriority = 3;

double clamp01(double v) { return v >= 0.0 ? std::min(v, 1.0) : 0.0; }  // NaN -> 0

bool is_scale(const Decision& d) {
  return d.type == decision_type::kScaleUp || d.type == decision_type::kScaleDown;
}

using detail::clamp_agents;

// round(step x factor), at least 1 (also for a zero, negative or NaN factor), at most 1e6.
std::int64_t scaled_step(int step, double factor) {
  const double x = static_cast<double>(step) * factor;
  if (!(x >= 1.0)) return 1;
  return std::llround(std::min(x, 1e6));
}

std::string plural(std::int64_t n, std::string_view noun) {
  return fmt::format("{} {}{}", n, noun, n == 1 ? "" : "s");
}

// A proposed scale rule, before clamping.
struct ScaleRule {
  std::string_view reason;
  bool up = true;
  int priority = 0;
  double confidence = 0.0;
  std::int64_t target = 0;
  std::string why;  // the trigger, in words
};

std::string health_words(const SystemMetrics& m) {
  return fmt::format("health {:.3f} ({})", m.health_score, to_string(m.health_state));
}

// Every scale rule that applies, in rule order (the first that moves the count wins).
std::vector<ScaleRule> scale_rules(const SystemMetrics& m, const Config& cfg) {
  const PolicyConfig& p = cfg.policy;
  const std::int64_t s = m.active_agents;
  const std::int64_t q = m.work_queue_size;
  const std::string agents = plural(s, "active agent");
  std::vector<ScaleRule> rules;
  if (s < p.min_agents) {
    // Below the floor with a backlog: go straight to what the backlog rule would ask for.
    std::int64_t target = p.min_agents;
    if (m.health_state == HealthState::kCritical && q > 0) {
      target = std::max(target, s + scaled_step(p.critical_scale_step, p.scale_factor));
    } else if (m.health_state == HealthState::kDegraded && q > s) {
      target = std::max(target, s + scaled_step(p.degraded_scale_step, p.scale_factor));
    }
    rules.push_back(
        {"below_min_agents", true, kScaleBoundsPriority, kBelowMinConfidence, target,
         fmt::format("{}: {} below min_agents {}", health_words(m), agents, p.min_agents)});
  }
  if (s > p.max_agents) {
    rules.push_back(
        {"above_max_agents", false, kScaleBoundsPriority, kAboveMaxConfidence, p.max_agents,
         fmt::format("{}: {} above max_agents {}", health_words(m), agents, p.max_agents)});
  }
  const std::string load =
      fmt::format("{} with {} waiting and {}", health_words(m), plural(q, "item"), agents);
  if (m.health_state == HealthState::kCritical && q > 0) {
    rules.push_back({"critical_backlog", true, kCriticalPriority, kCriticalConfidence,
                     s + scaled_step(p.critical_scale_step, p.scale_factor), load});
  }
  if (m.health_state == HealthState::kDegraded && q > s) {
    rules.push_back({"degraded_backlog", true, kDegradedPriority, kDegradedConfidence,
                     s + scaled_step(p.degraded_scale_step, p.scale_factor), load});
  }
  if (m.health_state == HealthState::kOptimal && q == 0 &&
      static_cast<double>(s) > cfg.health.agent_saturation) {  // false for NaN and inf
    const std::int64_t saturation = std::llround(cfg.health.agent_saturation);
    rules.push_back({"over_provisioned", false, kOverProvisionedPriority,
                     kOverProvisionedConfidence, std::max<std::int64_t>(p.min_agents, saturation),
                     load});
  }
  if (q == 0 && m.in_progress == 0 && s > p.min_agents) {
    rules.push_back(
        {"idle_capacity", false, kIdlePriority, kIdleConfidence, p.min_agents,
         fmt::format("{} with no work waiting or running and {}", health_words(m), agents)});
  }
  return rules;
}

// "120 waiting × 0.5 s, 0.2 arrivals/s": the capacity model's inputs, in words.
std::string load_words(const CapacityEstimate& c) {
  return fmt::format("{} waiting \u00d7 {:.3g} s, {:.3g} arrivals/s", c.backlog, c.service_time_s,
                     c.projected_rate);
}

// "...: 8 agents drain it in 8 s, target 20 s".
std::string capacity_up_words(const CapacityEstimate& c, std::int64_t target,
                              const PolicyConfig& p) {
  const double t = drain_seconds(c, target);
  const std::string drain = std::isfinite(t) ? fmt::format("drain it in {:.0f} s", std::ceil(t))
                                             : std::string("cannot keep up");
  return fmt::format("{}: {} {}, target {} s", load_words(c), plural(target, "agent"), drain,
                     p.target_drain.count());
}

Decision make_scale(const ScaleRule& r, std::int64_t target, const SystemMetrics& m,
                    const CapacityEstimate* cap) {
  const std::int64_t s = m.active_agents;
  Decision d;
  d.type = std::string(r.up ? decision_type::kScaleUp : decision_type::kScaleDown);
  d.priority = r.priority;
  d.confidence = r.confidence;
  d.reason = std::string(r.reason);
  d.rationale = fmt::format(
      "{}: {} ({} \u2192 {})", r.why,
      r.up ? "add " + plural(target - s, "agent") : "remove " + plural(s - target, "agent"), s,
      target);
  d.scale = ScaleTarget{target, s};
  d.parameters = {{"work_queue_size", m.work_queue_size}, {"health_score", m.health_score}};
  if (cap != nullptr) {
    d.parameters["needed_agents"] = cap->recommended;
    d.parameters["floor_agents"] = cap->floor;
    d.parameters["service_time_s"] = cap->service_time_s;
    d.parameters["arrival_rate"] = cap->projected_rate;
    d.parameters["startup_lag_s"] = cap->startup_lag_s;
  }
  return d;
}

// At most one scale decision: the first rule whose clamped target moves the count its way.
std::optional<Decision> step_scale_decision(const SystemMetrics& m, const Config& cfg) {
  for (const ScaleRule& r : scale_rules(m, cfg)) {
    const std::int64_t target = clamp_agents(r.target, cfg.policy);
    if (r.up ? target > m.active_agents : target < m.active_agents) {
      return make_scale(r, target, m, nullptr);
    }
  }
  return std::nullopt;
}

// Sizing from capacity: the capacity rules join the seed's. Up: the largest clamped target
// wins (the seed's rule on a tie), unless the last scale-up is still starting at least as many.
// Down: the first rule (in order) whose target, raised to the stabilized floor, moves down.
std::optional<Decision> capacity_scale_decision(const SystemMetrics& m, const Config& cfg,
                                                const CapacityEstimate& cap) {
  const PolicyConfig& p = cfg.policy;
  const std::int64_t s = m.active_agents;
  std::vector<ScaleRule> rules = scale_rules(m, cfg);
  // A step rule that a measured estimate contradicts (the agents there are drain the backlog in
  // time) still fires, at half its confidence: the default gate skips it, an operator can force it.
  if (cap.service_samples >= kContradictingSamples && cap.needed <= s) {
    for (ScaleRule& r : rules) {
      if (!r.up || r.reason == "below_min_agents") continue;
      r.confidence *= kContradictedFactor;
      r.why +=
          fmt::format(" (but {}: {} drain it in {:.0f} s, target {} s)", load_words(cap),
                      plural(s, "agent"), std::ceil(drain_seconds(cap, s)), p.target_drain.count());
    }
  }
  if (m.work_queue_size > 0 && cap.recommended > s) {
    rules.push_back({"backlog_exceeds_capacity", true, kCapacityPriority, cap.confidence,
                     cap.recommended, capacity_up_words(cap, cap.recommended, p)});
  }
  // Agents are removed for capacity only on a measured service time, and never while one of the
  // seed's rules asks for more (critical or degraded with work waiting, below min_agents).
  const bool seed_wants_more =
      std::any_of(rules.begin(), rules.end(), [](const ScaleRule& r) { return r.up; });
  if (cap.floor < s && cap.service_samples > 0 && !seed_wants_more) {
    rules.push_back({"excess_capacity", false, kExcessPriority, cap.confidence, cap.floor,
                     fmt::format("{} need {}; the largest recommendation over the last {} s is {}",
                                 load_words(cap), plural(cap.recommended, "agent"),
                                 p.scale_down_window.count(), cap.floor)});
  }
  const ScaleRule* best = nullptr;
  std::int64_t best_target = 0;
  for (const ScaleRule& r : rules) {
    const std::int64_t t = clamp_agents(r.target, p);
    if (r.up && t > s && t > cap.starting_target && (best == nullptr || t > best_target)) {
      best = &r;
      best_target = t;
    }
  }
  if (best != nullptr) return make_scale(*best, best_target, m, &cap);
  for (const ScaleRule& r : rules) {
    if (r.up) continue;
    const std::int64_t t = clamp_agents(std::max(r.target, cap.floor), p);
    if (t >= s) continue;
    ScaleRule raised = r;
    if (t != clamp_agents(r.target, p)) {
      raised.why += fmt::format(", held at {} (the largest recommendation over the last {} s)", t,
                                p.scale_down_window.count());
    }
    return make_scale(raised, t, m, &cap);
  }
  return std::nullopt;
}

std::optional<Decision> repair_decision(const Snapshot& snap, const SystemMetrics& m,
                                        const Config& cfg, TimePoint now) {
  std::vector<RepairAction> actions = plan_queue_repairs(snap, cfg, now);
  if (actions.empty()) return std::nullopt;
  const detail::AgentIndex agents(snap);
  std::int64_t orphaned = 0, expired = 0, dead = 0, finalized = 0;
  bool clear = true;
  for (const RepairAction& a : actions) {
    if (a.reason == "orphaned_claim") {
      ++orphaned;
      if (!agents.holder(a.expect_claimed_by, cfg.policy.agent_timeout, now).clearly_gone) {
        clear = false;
      }
    } else if (a.reason == "lease_expired") {
      ++expired;
    } else if (a.op == RepairOp::kDeadLetter) {
      ++dead;
    } else if (a.op == RepairOp::kFinalize) {
      ++finalized;
    }
  }
  Decision d;
  d.type = std::string(decision_type::kCoordinationImprove);
  d.priority = kRepairPriority;
  d.confidence = clear ? kRepairClearConfidence : kRepairUnclearConfidence;
  d.reason = orphaned > 0    ? "orphaned_claims"
             : expired > 0   ? "expired_leases"
             : finalized > 0 ? "already_completed"
                             : "stale_work";
  d.rationale = fmt::format(
      "{} with {} queued: repair {} ({} orphaned, {} expired, {} to dead-letter, {} already "
      "completed)",
      health_words(m), plural(m.work_queue_size, "item"), plural(std::ssize(actions), "item"),
      plural(orphaned, "claim"), plural(expired, "lease"), dead, finalized);
  d.parameters = {{"items", std::ssize(actions)},
                  {"orphaned", orphaned},
                  {"expired_leases", expired},
                  {"dead_letter", dead},
                  {"finalized", finalized}};
  d.actions = std::move(actions);
  return d;
}

std::optional<Decision> optimize_decision(const Snapshot& snap, const SystemMetrics& m,
                                          const Config& cfg, TimePoint now) {
  std::vector<RepairAction> actions = plan_optimizations(snap, cfg, now);
  if (actions.empty()) return std::nullopt;
  const auto retries = std::count_if(actions.begin(), actions.end(), [](const RepairAction& a) {
    return a.op == RepairOp::kRetryFailed;
  });
  const auto archived = std::ssize(actions) - retries;
  Decision d;
  d.type = std::string(decision_type::kOptimize);
  d.priority = kOptimizePriority;
  d.confidence = kOptimizeConfidence;
  d.reason = retries > 0 ? "retry_failures" : "compaction";
  d.rationale = fmt::format("{}: retry {}, archive {} older than {}s", health_words(m),
                            plural(retries, "retryable failure"), plural(archived, "record"),
                            cfg.policy.retention.count());
  d.parameters = {{"items", std::ssize(actions)}, {"retries", retries}, {"archived", archived}};
  d.actions = std::move(actions);
  return d;
}

// Clamps a scale decision's target and checks its direction; says why when it must be dropped.
std::optional<std::string> fix_scale_target(Decision& d, const PolicyConfig& p) {
  lift_payload(d);
  if (!d.scale) {
    return std::string(
        "a scale decision needs a target: scale, or parameters.target_agents as a "
        "finite number");
  }
  const std::int64_t asked = d.scale->target_agents;
  d.scale->target_agents = clamp_agents(asked, p);
  if (!d.scale->current_agents) return std::nullopt;  // the actuator gets the clamped target
  const std::int64_t current = *d.scale->current_agents;
  const std::int64_t target = d.scale->target_agents;
  const bool up = d.type == decision_type::kScaleUp;
  if (up ? target > current : target < current) return std::nullopt;
  return fmt::format("target {} (asked {}, agents {}..{}) does not scale {} from {}", target, asked,
                     p.min_agents, p.max_agents, up ? "up" : "down", current);
}

}  // namespace

double evidence_factor(const Snapshot& snap) {
  const auto rejected = static_cast<double>(snap.rejected.size());
  const double read = static_cast<double>(snap.agents.size() + snap.work.size() +
                                          snap.completed.size() + snap.telemetry.size()) +
                      rejected;
  double f = read == 0.0 ? 1.0 : std::clamp(1.0 - rejected / read, 0.05, 1.0);
  if (snap.partial) f *= 0.8;
  return f;
}

std::vector<Decision> decide(const Snapshot& snap, const SystemMetrics& metrics, const Config& cfg,
                             const DecisionHistory& history, TimePoint now) {
  std::vector<Decision> out;
  std::optional<Decision> scale;
  if (cfg.policy.sizing == Sizing::kCapacity) {
    scale =
        capacity_scale_decision(metrics, cfg, estimate_capacity(snap, metrics, cfg, history, now));
  } else {
    scale = step_scale_decision(metrics, cfg);
  }
  if (scale) out.push_back(std::move(*scale));
  if (auto d = repair_decision(snap, metrics, cfg, now)) out.push_back(std::move(*d));
  if (auto d = optimize_decision(snap, metrics, cfg, now)) out.push_back(std::move(*d));
  const double evidence = evidence_factor(snap);
  for (Decision& d : out) d.confidence = clamp01(d.confidence * evidence);
  out = normalize_decisions(std::move(out), cfg);
  const std::int64_t ms = unix_millis(now);
  for (std::size_t i = 0; i < out.size(); ++i) {
    out[i].id = fmt::format("dec-{}-{}", ms, i + 1);
    out[i].created_at = now;
  }
  return out;
}

std::vector<Decision> normalize_decisions(std::vector<Decision> decisions, const Config& cfg,
                                          std::vector<DroppedDecision>* dropped) {
  std::stable_sort(decisions.begin(), decisions.end(),
                   [](const Decision& a, const Decision& b) { return a.priority > b.priority; });
  std::vector<Decision> out;
  out.reserve(decisions.size());
  std::optional<std::string> kept_scale;  // the scale decision kept, in words
  const auto drop = [&](Decision& d, std::string why) {
    if (dropped != nullptr) dropped->push_back({std::move(d), std::move(why)});
  };
  for (Decision& d : decisions) {
    d.confidence = clamp01(d.confidence);
    if (!is_scale(d)) {
      out.push_back(std::move(d));
      continue;
    }
    if (kept_scale) {
      drop(d, "one scale decision per cycle: " + *kept_scale + " ranks first");
      continue;
    }
    if (auto why = fix_scale_target(d, cfg.policy)) {
      drop(d, std::move(*why));
      continue;
    }
    kept_scale = fmt::format("{} ({}, priority {})", d.type, d.reason, d.priority);
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace dslmodel

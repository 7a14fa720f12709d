// gate(): which decisions may run this cycle, and why the others may not (docs/policy.md).
#include <optional>

#include "dslmodel/policy.h"

namespace dslmodel {
namespace {

bool within(const std::optional<TimePoint>& since, Seconds window, TimePoint now) {
  return since && now - *since < window;
}

bool is_scale(const Decision& d) {
  return d.type == decision_type::kScaleUp || d.type == decision_type::kScaleDown;
}

// What the gate knows while it walks one cycle's decisions.
struct GateState {
  int passed = 0;                           // decisions that run (dry-run: would run)
  bool scale_passed = false;                // a scale decision passed earlier in this cycle
  std::optional<TimePoint> last_actuation;  // history's, or now once a scale decision passed
};

// The first failing check, in the order of docs/policy.md; kNone when the decision may run.
SkipReason first_block(const Decision& d, const GateInput& in, const PolicyConfig& p,
                       const DecisionHistory& h, const GateState& st, TimePoint now) {
  if (!in.remediation_enabled) return SkipReason::kRemediationDisabled;
  if (!in.is_leader) return SkipReason::kNotLeader;
  if (!(d.confidence >= in.min_confidence)) return SkipReason::kLowConfidence;  // NaN fails too
  if (is_scale(d)) {
    if (!in.has_actuator) return SkipReason::kNoActuator;
    const bool up = d.type == decision_type::kScaleUp;
    if (!up && within(h.last_scale_up, p.scale_down_delay, now)) return SkipReason::kScaleDownDelay;
    if (st.scale_passed) return SkipReason::kCooldown;
    if (up && p.sizing == Sizing::kCapacity) {
      // Scale-ups are rate-limited per period, not held back by the cooldown of every scaling.
      // Reaching min_agents is a bound, not a sizing step: it does not start the period.
      if (h.last_scale_up_reason != "below_min_agents" &&
          within(h.last_scale_up, p.scale_up_period, now)) {
        return SkipReason::kRateLimited;
      }
    } else if (within(st.last_actuation, p.cooldown, now)) {
      return SkipReason::kCooldown;
    }
  }
  if (h.in_flight + st.passed >= in.max_concurrent_decisions) return SkipReason::kMaxConcurrent;
  if (st.passed >= in.max_decisions) return SkipReason::kMaxDecisions;
  return SkipReason::kNone;
}

}  // namespace

std::string to_string(SkipReason reason) {
  switch (reason) {
    case SkipReason::kNone:
      return "";
    case SkipReason::kRemediationDisabled:
      return "remediation_disabled";
    case SkipReason::kNotLeader:
      return "not_leader";
    case SkipReason::kLowConfidence:
      return "low_confidence";
    case SkipReason::kNoActuator:
      return "no_actuator";
    case SkipReason::kScaleDownDelay:
      return "scale_down_delay";
    case SkipReason::kCooldown:
      return "cooldown";
    case SkipReason::kRateLimited:
      return "rate_limited";
    case SkipReason::kMaxConcurrent:
      return "max_concurrent";
    case SkipReason::kMaxDecisions:
      return "max_decisions";
    case SkipReason::kDryRun:
      return "dry_run";
    case SkipReason::kNoExecutor:
      return "no_executor";
  }
  return "unknown";
}

std::vector<GateVerdict> gate(const std::vector<Decision>& decisions, const GateInput& in,
                              const Config& cfg, const DecisionHistory& history, TimePoint now) {
  std::vector<GateVerdict> out;
  out.reserve(decisions.size());
  GateState st{.passed = 0, .last_actuation = history.last_actuation};
  for (const Decision& d : decisions) {
    SkipReason reason = first_block(d, in, cfg.policy, history, st, now);
    if (reason == SkipReason::kNone) {
      // Dry-run decisions count toward the limits too, so dry-run shows what a live run does.
      ++st.passed;
      if (is_scale(d)) {
        st.last_actuation = now;
        st.scale_passed = true;
      }
      if (in.dry_run) reason = SkipReason::kDryRun;
    }
    out.push_back({.run = reason == SkipReason::kNone, .reason = reason});
  }
  return out;
}

}  // namespace dslmodel

// AutonomousDecisionEngine: gating, running and journaling decisions, and the cycle.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <tuple>
#include <utility>

#include "engine/cycle_spans.h"
#include "engine/engine_state.h"
#include "journal/history.h"

namespace dslmodel {
namespace {

bool is_scale(const std::string& type) {
  return type == decision_type::kScaleUp || type == decision_type::kScaleDown;
}

bool is_repair(const std::string& type) {
  return type == decision_type::kCoordinationImprove || type == decision_type::kOptimize;
}

bool is_builtin(const std::string& type) { return is_scale(type) || is_repair(type); }

std::string describe_outcome(const RepairOutcome& o) {
  std::string s = fmt::format("applied {} change{}", o.applied, o.applied == 1 ? "" : "s");
  if (o.skipped > 0) s += fmt::format(", skipped {} (state changed)", o.skipped);
  if (o.removed_temp_files > 0) {
    s += fmt::format(", removed {} stale temp file{}", o.removed_temp_files,
                     o.removed_temp_files == 1 ? "" : "s");
  }
  return s;
}

// Active agents, idle ones first, then those with no current work, then the stalest heartbeat.
std::vector<std::string> stop_preference(const Snapshot& snap, Seconds agent_timeout,
                                         TimePoint now) {
  std::vector<const AgentRecord*> active;
  for (const AgentRecord& a : snap.agents) {
    if (agent_is_active(a, agent_timeout, now)) active.push_back(&a);
  }
  auto rank = [](const AgentRecord* a) {
    return std::make_tuple(a->status != "idle", !a->current_work.empty(),
                           a->heartbeat.value_or(TimePoint{}), a->id);
  };
  std::sort(active.begin(), active.end(),
            [&](const AgentRecord* x, const AgentRecord* y) { return rank(x) < rank(y); });
  std::vector<std::string> ids;
  ids.reserve(active.size());
  for (const AgentRecord* a : active) ids.push_back(a->id);
  return ids;
}

std::int64_t millis_between(std::chrono::steady_clock::time_point from,
                            std::chrono::steady_clock::time_point to) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(to - from).count();
}

}  // namespace

Result<ExecutorResult> AutonomousDecisionEngine::run_scale(const Decision& d, std::string& output) {
  if (!parts_.actuator) {
    return Status(ErrorCode::kUnavailable, actuator_error_.empty()
                                               ? "no actuator configured"
                                               : "actuator: " + actuator_error_);
  }
  if (!d.scale) return Status(ErrorCode::kInvalidArgument, "scale decision without a target");
  ScaleRequest req;
  req.current_agents = static_cast<int>(d.scale->current_agents.value_or(0));
  req.target_agents = static_cast<int>(d.scale->target_agents);
  req.decision_id = d.id;
  req.stop_preference =
      stop_preference(snapshot_, config_.policy.agent_timeout, parts_.clock->now());
  req.active_agents = req.stop_preference;
  req.epoch = epoch_;
  auto r = parts_.actuator->scale(req);
  if (!r.ok()) return r.status();
  output = r->output;
  return ExecutorResult{r->summary, nlohmann::json{{"actuator", r->inverse}}};
}

Result<ExecutorResult> AutonomousDecisionEngine::run_repair(const Decision& d,
                                                            std::string& output) {
  auto r = parts_.store->apply(d.actions);
  if (!r.ok()) return r.status();
  output = fmt::format("{}", fmt::join(r->notes, "\n"));
  return ExecutorResult{describe_outcome(*r), nlohmann::json{{"store", r->inverse}}};
}

Result<ExecutorResult> AutonomousDecisionEngine::run_custom(const Decision& d) {
  auto it = executors_.find(d.type);
  if (it == executors_.end()) {
    return Status(ErrorCode::kInvalidArgument, "no executor for decision type " + d.type);
  }
  return it->second(d);
}

Result<ExecutorResult> AutonomousDecisionEngine::run_one(const Decision& d, std::string& output) {
  if (!is_builtin(d.type)) return run_custom(d);
  // A decision handed to execute_decisions without normalisation may still carry its payload
  // as parameters (target_agents, actions): lift it as reading it from the journal does.
  const auto run = [&](const Decision& x) {
    return is_scale(x.type) ? run_scale(x, output) : run_repair(x, output);
  };
  if (is_scale(d.type) ? d.scale.has_value() : !d.actions.empty()) return run(d);
  Decision lifted = d;
  lift_payload(lifted);
  return run(lifted);
}

std::vector<GateVerdict> AutonomousDecisionEngine::verdicts_for(
    const std::vector<Decision>& decisions, const ExecuteOptions& options,
    const DecisionHistory& history, TimePoint now) const {
  GateInput in;
  in.min_confidence = options.min_confidence.value_or(config_.gate.min_confidence);
  if (options.force_confidence) {
    in.min_confidence = std::min(in.min_confidence, *options.force_confidence);
  }
  in.max_decisions = options.max_decisions;
  in.max_concurrent_decisions = config_.gate.max_concurrent_decisions;
  in.dry_run = options.dry_run.value_or(config_.gate.dry_run);
  in.is_leader = is_leader_;
  in.has_actuator = has_actuator();
  in.remediation_enabled = remediation_enabled_;
  std::vector<GateVerdict> verdicts = gate(decisions, in, config_, history, now);
  for (std::size_t i = 0; i < decisions.size(); ++i) {
    const std::string& type = decisions[i].type;
    if (verdicts[i].run && !is_builtin(type) && !executors_.contains(type)) {
      verdicts[i] = {false, SkipReason::kNoExecutor};
    }
  }
  return verdicts;
}

std::vector<GateVerdict> AutonomousDecisionEngine::preview_gate(
    const std::vector<Decision>& decisions, const ExecuteOptions& options) const {
  return verdicts_for(decisions, options, cached().summary.history, parts_.clock->now());
}

void AutonomousDecisionEngine::close_interrupted() {
  for (JournalEntry e : cached().summary.open_intents) {
    e.outcome = Outcome::kFailed;
    e.at = parts_.clock->now();
    e.reason = std::string(journal::kInterruptedReason);
    e.epoch = epoch_;
    e.replica = replica();
    (void)record(e);
  }
}

JournalEntry AutonomousDecisionEngine::entry_for(const Decision& d) const {
  JournalEntry e;
  e.at = parts_.clock->now();
  e.decision = d;
  e.epoch = epoch_;
  e.replica = replica();
  return e;
}

bool AutonomousDecisionEngine::record_intent(JournalEntry& e, ExecutionReport& report) {
  const Decision& d = e.decision;
  e.outcome = Outcome::kIntent;
  if (auto s = record(e); !s.ok()) {
    if (s.status().code() == ErrorCode::kConflict) {  // fenced: another replica leads now
      set_leader(false, 0);
      report.skipped.push_back({d.id, d.type, to_string(SkipReason::kNotLeader)});
    } else {
      report.failed.push_back({d.id, d.type, "journal unavailable: " + s.status().message(), 0});
    }
    return false;
  }
  if (Status f = fence(); !f.ok()) {  // lost between the intent and the action: do nothing
    report.skipped.push_back({d.id, d.type, to_string(SkipReason::kNotLeader)});
    return false;
  }
  return true;
}

void AutonomousDecisionEngine::act_and_record(const Decision& d, JournalEntry& e,
                                              ExecutionReport& report) {
  const auto start = parts_.clock->steady_now();
  std::string output;
  Result<ExecutorResult> r = run_one(d, output);
  e.duration_ms = millis_between(start, parts_.clock->steady_now());
  e.at = parts_.clock->now();
  e.output = output;
  if (r.ok()) {
    e.outcome = Outcome::kExecuted;
    e.result = r->result;
    e.inverse = r->inverse;
    report.executed.push_back({d.id, d.type, r->result, e.duration_ms});
  } else {
    e.outcome = Outcome::kFailed;
    e.reason = r.status().message();
    report.failed.push_back({d.id, d.type, e.reason, e.duration_ms});
  }
  if (auto s = record(e); !s.ok() && r.ok()) {
    report.executed.back().result += " (journal write failed: " + s.status().message() + ")";
  }
}

void AutonomousDecisionEngine::execute_one(const Decision& d, const GateVerdict& verdict,
                                           ExecutionReport& report) {
  if (!fence().ok()) {  // leadership lost: from here on this replica writes and does nothing
    report.skipped.push_back({d.id, d.type, to_string(SkipReason::kNotLeader)});
    return;
  }
  struct Stamp {  // records when this decision's handling ended, however it ends
    AutonomousDecisionEngine* self;
    const std::string& id;
    TimePoint began;
    ~Stamp() { self->timings_.push_back({id, began, self->parts_.clock->now()}); }
  } stamp{this, d.id, parts_.clock->now()};
  JournalEntry e = entry_for(d);
  if (!verdict.run) {
    e.outcome = Outcome::kSkipped;
    e.reason = to_string(verdict.reason);
    (void)record(e);
    report.skipped.push_back({d.id, d.type, e.reason});
    return;
  }
  if (record_intent(e, report)) act_and_record(d, e, report);
}

ExecutionReport AutonomousDecisionEngine::execute_decisions(const std::vector<Decision>& decisions,
                                                            const ExecuteOptions& options) {
  const TimePoint now = parts_.clock->now();
  refresh_leadership();
  ExecutionReport report;
  timings_.clear();
  if (!is_leader_) {  // a follower neither gates nor journals
    for (const Decision& d : decisions)
      report.skipped.push_back({d.id, d.type, to_string(SkipReason::kNotLeader)});
    return report;
  }
  if (fence().ok()) close_interrupted();
  const std::vector<GateVerdict> verdicts =
      verdicts_for(decisions, options, cached().summary.history, now);
  for (std::size_t i = 0; i < decisions.size(); ++i) execute_one(decisions[i], verdicts[i], report);
  return report;
}

Result<CycleResult> AutonomousDecisionEngine::run_cycle(const ExecuteOptions& options) {
  const auto start = parts_.clock->steady_now();
  CyclePhases phases;
  phases.start = parts_.clock->now();
  auto m = analyze_system_state();
  if (!m.ok()) return m.status();
  phases.analyzed = parts_.clock->now();
  CycleResult c;
  c.metrics = *m;
  c.decisions = make_autonomous_decisions(c.metrics);
  c.dropped = dropped_;
  phases.decided = parts_.clock->now();
  c.execution = execute_decisions(c.decisions, options);
  c.warnings = snapshot_.rejected;
  c.file_warnings = snapshot_.warnings;
  c.duration_ms = millis_between(start, parts_.clock->steady_now());
  phases.end = parts_.clock->now();
  if (parts_.exporter) {
    parts_.exporter->export_spans(cycle_spans(c, phases, timings_, previous_health_));
  }
  previous_health_ = c.metrics.health_score;
  return c;
}

}  // namespace dslmodel

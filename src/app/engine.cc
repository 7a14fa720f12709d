#include "dslmodel/engine.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <tuple>
#include <utility>

#include "app/actuator_factory.h"
#include "app/backends.h"
#include "app/cycle_spans.h"
#include "dslmodel/capacity.h"
#include "dslmodel/time.h"
#include "journal/history.h"
#include "store/dir_store.h"

namespace dslmodel {
namespace {

bool is_scale(const std::string& type) {
  return type == decision_type::kScaleUp || type == decision_type::kScaleDown;
}

bool is_repair(const std::string& type) {
  return type == decision_type::kCoordinationImprove || type == decision_type::kOptimize;
}

bool is_builtin(const std::string& type) { return is_scale(type) || is_repair(type); }

// Stands in for a journal that could not be set up: every call fails, so nothing acts unrecorded.
class UnavailableJournal final : public Journal {
 public:
  explicit UnavailableJournal(std::string why) : why_(std::move(why)) {}
  Result<std::int64_t> append(JournalEntry) override { return error(); }
  Result<std::vector<JournalEntry>> read_all() const override { return error(); }

 private:
  Status error() const { return {ErrorCode::kUnavailable, why_}; }
  std::string why_;
};

// The RepairActions a coordination_improve / optimize decision carries in parameters.actions.
std::vector<RepairAction> actions_of(const Decision& d) {
  std::vector<RepairAction> out;
  auto it = d.parameters.find("actions");
  if (it == d.parameters.end() || !it->is_array()) return out;
  for (const auto& a : *it) {
    Result<RepairAction> action = repair_action_from_json(a);
    if (action.ok()) out.push_back(std::move(action).value());
  }
  return out;
}

std::string describe_outcome(const RepairOutcome& o) {
  std::string s = fmt::format("applied {} change{}", o.applied, o.applied == 1 ? "" : "s");
  if (o.skipped > 0) s += fmt::format(", skipped {} (state changed)", o.skipped);
  if (o.removed_temp_files > 0) {
    s += fmt::format(", removed {} stale temp file{}", o.removed_temp_files,
                     o.removed_temp_files == 1 ? "" : "s");
  }
  return s;
}

int int_param(const Decision& d, const char* key) {
  auto it = d.parameters.find(key);
  if (it == d.parameters.end() || !it->is_number()) return 0;
  return it->get<int>();
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

}  // namespace

AutonomousDecisionEngine::AutonomousDecisionEngine(const std::filesystem::path& coordination_dir)
    : AutonomousDecisionEngine([&] {
        Config c;
        c.coordination_dir = coordination_dir.string();
        return c;
      }()) {}

AutonomousDecisionEngine::AutonomousDecisionEngine(Config config, EngineParts parts)
    : config_(std::move(config)), parts_(std::move(parts)) {
  if (!parts_.clock) parts_.clock = std::make_unique<SystemClock>();
  if (!parts_.store) {
    auto made = make_store(config_);
    if (made.ok()) {
      parts_.store = std::move(made).value();
    } else {
      setup_errors_.push_back("store: " + made.status().message());
      parts_.store = std::make_unique<store::DirStore>(config_.coordination_dir, config_.store);
    }
  }
  if (!parts_.journal) {
    auto made = make_journal(config_, *parts_.store);
    if (made.ok()) {
      parts_.journal = std::move(made).value();
    } else {
      setup_errors_.push_back("journal: " + made.status().message());
      parts_.journal = std::make_unique<UnavailableJournal>(made.status().message());
    }
  }
  // With leader election the configured actuator exists only while this replica leads: a
  // follower must not supervise (or replace) the leader's agents. It is made on winning and
  // dropped on losing (agents keep running; the next leader's supervisor adopts them).
  const ActuatorConfig& a = config_.actuator;
  const bool configured = a.kind == "auto" ? !a.scale_command.empty() : a.kind != "none";
  if (!parts_.actuator && parts_.elector && configured) {
    lazy_actuator_ = true;
  } else if (!parts_.actuator) {
    auto made = make_actuator(config_, *parts_.clock);
    if (made.ok()) {
      parts_.actuator = std::move(made).value();
    } else {
      setup_errors_.push_back("actuator: " + made.status().message());
    }
  }
}

AutonomousDecisionEngine::~AutonomousDecisionEngine() = default;

Result<SystemMetrics> AutonomousDecisionEngine::analyze_system_state() {
  Result<Snapshot> snap = parts_.store->snapshot();
  if (!snap.ok()) return snap.status();
  snapshot_ = std::move(snap).value();
  SystemMetrics m = measure(snapshot_, config_, parts_.clock->now());
  m.health_score = calculate_health_score(m);
  m.health_state = classify_health(m.health_score);
  return m;
}

double AutonomousDecisionEngine::calculate_health_score(const SystemMetrics& metrics) const {
  return compute_health_score(metrics, config_.health);
}

DecisionHistory AutonomousDecisionEngine::load_history() const {
  auto entries = parts_.journal->read_all();
  if (!entries.ok()) return {};
  return journal::history_from_journal(*entries);
}

std::vector<Decision> AutonomousDecisionEngine::make_autonomous_decisions(
    const SystemMetrics& metrics) {
  const TimePoint now = parts_.clock->now();
  DecisionHistory history = load_history();
  // The recommendations of this process's earlier cycles join the journaled ones, so the
  // scale-down window also sees the cycles that made no scale decision.
  history.recommendations.insert(history.recommendations.end(), recommendations_.begin(),
                                 recommendations_.end());
  std::vector<Decision> ds = decide(snapshot_, metrics, config_, history, now);
  if (config_.policy.sizing == Sizing::kCapacity) {
    const CapacityEstimate cap = estimate_capacity(snapshot_, metrics, config_, history, now);
    std::erase_if(recommendations_, [&](const Recommendation& r) {
      return r.at > now || now - r.at >= config_.policy.scale_down_window;
    });
    recommendations_.push_back({now, cap.recommended});
  }
  auto add = [&](Decision d) {
    if (d.id.empty()) d.id = fmt::format("dec-{}-{}", unix_millis(now), ds.size() + 1);
    if (d.created_at == TimePoint{}) d.created_at = now;
    ds.push_back(std::move(d));
  };
  for (const auto& [type, handler] : handlers_) {
    if (auto d = handler(metrics)) {
      if (d->type.empty()) d->type = type;
      add(std::move(*d));
    }
  }
  for (const auto& s : strategies_) {
    if (auto d = s->evaluate(metrics, ds)) add(std::move(*d));
  }
  return normalize_decisions(std::move(ds), config_);
}

void AutonomousDecisionEngine::add_decision_strategy(std::unique_ptr<DecisionStrategy> strategy) {
  strategies_.push_back(std::move(strategy));
}

void AutonomousDecisionEngine::add_decision_handler(const std::string& type,
                                                    DecisionHandler handler) {
  handlers_.emplace_back(type, std::move(handler));
}

void AutonomousDecisionEngine::add_decision_executor(const std::string& type,
                                                     DecisionExecutor executor) {
  executors_[type] = std::move(executor);
}

void AutonomousDecisionEngine::set_leader(bool is_leader, std::int64_t epoch) {
  is_leader_ = is_leader;
  epoch_ = epoch;
  parts_.store->set_fencing_epoch(epoch);
}

Leadership AutonomousDecisionEngine::leadership() const {
  if (!parts_.elector) return Leadership{is_leader_, epoch_, "", ""};
  return parts_.elector->current();
}

void AutonomousDecisionEngine::refresh_leadership() {
  if (!parts_.elector) return;
  const Leadership l = parts_.elector->current();
  set_leader(l.is_leader, l.is_leader ? l.epoch : 0);
  if (!lazy_actuator_) return;
  if (is_leader_ && !parts_.actuator) {
    auto made = make_actuator(config_, *parts_.clock);
    if (made.ok()) {
      parts_.actuator = std::move(made).value();
    } else {
      actuator_error_ = made.status().message();
    }
  } else if (!is_leader_ && parts_.actuator) {
    parts_.actuator.reset();
  }
}

Status AutonomousDecisionEngine::fence() {
  if (!parts_.elector)
    return is_leader_ ? Status::Ok() : Status(ErrorCode::kConflict, "not leader");
  if (!is_leader_) return {ErrorCode::kConflict, "not leader"};
  Status s = parts_.elector->confirm(epoch_);
  if (!s.ok()) set_leader(false, 0);
  return s;
}

Result<ExecutorResult> AutonomousDecisionEngine::run_one(const Decision& d, std::string& output) {
  if (is_scale(d.type)) {
    if (!parts_.actuator) {
      return Status(ErrorCode::kUnavailable, actuator_error_.empty()
                                                 ? "no actuator configured"
                                                 : "actuator: " + actuator_error_);
    }
    ScaleRequest req;
    req.current_agents = int_param(d, "current_agents");
    req.target_agents = int_param(d, "target_agents");
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
  if (is_repair(d.type)) {
    auto r = parts_.store->apply(actions_of(d));
    if (!r.ok()) return r.status();
    output = fmt::format("{}", fmt::join(r->notes, "\n"));
    return ExecutorResult{describe_outcome(*r), nlohmann::json{{"store", r->inverse}}};
  }
  auto it = executors_.find(d.type);
  if (it == executors_.end()) {
    return Status(ErrorCode::kInvalidArgument, "no executor for decision type " + d.type);
  }
  return it->second(d);
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
      verdicts[i] = {false, "no_executor"};
    }
  }
  return verdicts;
}

std::vector<GateVerdict> AutonomousDecisionEngine::preview_gate(
    const std::vector<Decision>& decisions, const ExecuteOptions& options) const {
  return verdicts_for(decisions, options, load_history(), parts_.clock->now());
}

void AutonomousDecisionEngine::close_interrupted() {
  auto entries = parts_.journal->read_all();
  if (!entries.ok()) return;
  for (JournalEntry e : journal::unresolved_intents(*entries)) {
    e.outcome = Outcome::kFailed;
    e.at = parts_.clock->now();
    e.reason = std::string(journal::kInterruptedReason);
    e.epoch = epoch_;
    e.replica = replica();
    (void)parts_.journal->append(e);
  }
}

ExecutionReport AutonomousDecisionEngine::execute_decisions(const std::vector<Decision>& decisions,
                                                            const ExecuteOptions& options) {
  const TimePoint now = parts_.clock->now();
  refresh_leadership();
  ExecutionReport report;
  timings_.clear();
  if (!is_leader_) {  // a follower neither gates nor journals
    for (const Decision& d : decisions) report.skipped.push_back({d.id, d.type, "not_leader"});
    return report;
  }
  if (fence().ok()) close_interrupted();
  const DecisionHistory history = load_history();
  const std::vector<GateVerdict> verdicts = verdicts_for(decisions, options, history, now);

  for (std::size_t i = 0; i < decisions.size(); ++i) {
    const Decision& d = decisions[i];
    if (!fence().ok()) {  // leadership lost: from here on this replica writes and does nothing
      report.skipped.push_back({d.id, d.type, "not_leader"});
      continue;
    }
    const TimePoint began = parts_.clock->now();
    struct Stamp {  // records when this decision's handling ended, however it ends
      AutonomousDecisionEngine* self;
      const std::string& id;
      TimePoint began;
      ~Stamp() { self->timings_.push_back({id, {began, self->parts_.clock->now()}}); }
    } stamp{this, d.id, began};
    JournalEntry e;
    e.at = parts_.clock->now();
    e.decision = d;
    e.epoch = epoch_;
    e.replica = replica();
    const std::string& skip = verdicts[i].reason;
    if (!verdicts[i].run) {
      e.outcome = Outcome::kSkipped;
      e.reason = skip;
      (void)parts_.journal->append(e);
      report.skipped.push_back({d.id, d.type, skip});
      continue;
    }
    e.outcome = Outcome::kIntent;
    if (auto s = parts_.journal->append(e); !s.ok()) {
      if (s.status().code() == ErrorCode::kConflict) {  // fenced: another replica leads now
        set_leader(false, 0);
        report.skipped.push_back({d.id, d.type, "not_leader"});
      } else {
        report.failed.push_back({d.id, d.type, "journal unavailable: " + s.status().message(), 0});
      }
      continue;
    }
    if (Status f = fence(); !f.ok()) {  // lost between the intent and the action: do nothing
      report.skipped.push_back({d.id, d.type, "not_leader"});
      continue;
    }
    const auto start = parts_.clock->steady_now();
    std::string output;
    Result<ExecutorResult> r = run_one(d, output);
    e.duration_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(parts_.clock->steady_now() - start)
            .count();
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
    if (auto s = parts_.journal->append(e); !s.ok() && r.ok()) {
      report.executed.back().result += " (journal write failed: " + s.status().message() + ")";
    }
  }
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
  phases.decided = parts_.clock->now();
  c.execution = execute_decisions(c.decisions, options);
  c.warnings = snapshot_.rejected;
  c.file_warnings = snapshot_.warnings;
  c.duration_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(parts_.clock->steady_now() - start)
          .count();
  phases.end = parts_.clock->now();
  if (parts_.exporter) {
    std::vector<DecisionTiming> timings;
    timings.reserve(timings_.size());
    for (const auto& [id, t] : timings_) timings.push_back({id, t.first, t.second});
    parts_.exporter->export_spans(cycle_spans(c, phases, timings, previous_health_));
  }
  previous_health_ = c.metrics.health_score;
  return c;
}

bool AutonomousDecisionEngine::flush_spans(std::chrono::milliseconds timeout) {
  return !parts_.exporter || parts_.exporter->flush(timeout);
}

ExporterStats AutonomousDecisionEngine::exporter_stats() const {
  return parts_.exporter ? parts_.exporter->stats() : ExporterStats{};
}

Result<std::vector<JournalEntry>> AutonomousDecisionEngine::history() const {
  return parts_.journal->read_all();
}

Result<std::string> AutonomousDecisionEngine::rollback(const std::string& decision_id) {
  auto entries = parts_.journal->read_all();
  if (!entries.ok()) return entries.status();
  auto executed = journal::find_executed(*entries, decision_id);
  if (!executed) {
    return Status(ErrorCode::kNotFound, "no executed decision with id " + decision_id);
  }
  if (journal::is_rolled_back(*entries, decision_id)) {
    return Status(ErrorCode::kConflict, "decision " + decision_id + " was already rolled back");
  }
  const nlohmann::json& inv = executed->inverse;
  const auto start = parts_.clock->steady_now();
  JournalEntry e;
  e.decision = executed->decision;
  e.epoch = epoch_;
  e.replica = replica();
  Status status = Status::Ok();
  std::string what;
  if (inv.contains("store")) {
    status = parts_.store->undo(inv["store"]);
    what = fmt::format("restored {} record change(s)", inv["store"].size());
  } else if (inv.contains("actuator")) {
    if (!parts_.actuator) {
      status = Status(ErrorCode::kUnavailable, "no actuator configured to reverse a scaling");
    } else if (auto r = parts_.actuator->undo(inv["actuator"]); r.ok()) {
      what = r->summary;
      e.output = r->output;
    } else {
      status = r.status();
    }
  } else {
    status = Status(ErrorCode::kInvalidArgument, "decision " + decision_id + " has no inverse");
  }
  e.duration_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(parts_.clock->steady_now() - start)
          .count();
  e.at = parts_.clock->now();
  e.outcome = status.ok() ? Outcome::kRolledBack : Outcome::kRollbackFailed;
  e.result = what;
  e.reason = status.ok() ? "" : status.message();
  if (auto s = parts_.journal->append(e); !s.ok()) return s.status();
  if (!status.ok()) return status;
  return what;
}

}  // namespace dslmodel

// AutonomousDecisionEngine: analysis, decisions, leadership, the journal cache and rollback.
// Execution is in engine_execute.cc.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <utility>

#include "dslmodel/capacity.h"
#include "dslmodel/time.h"
#include "engine/engine_state.h"
#include "journal/file_journal.h"
#include "journal/history.h"
#include "store/dir_store.h"

namespace dslmodel {

AutonomousDecisionEngine::AutonomousDecisionEngine(const std::filesystem::path& coordination_dir)
    : AutonomousDecisionEngine([&] {
        Config c;
        c.coordination_dir = coordination_dir.string();
        return c;
      }()) {}

AutonomousDecisionEngine::AutonomousDecisionEngine(Config config, EngineParts parts)
    : config_(std::move(config)), parts_(std::move(parts)), cached_(std::make_unique<Cached>()) {
  if (!parts_.clock) parts_.clock = std::make_unique<SystemClock>();
  if (!parts_.store) {
    if (!config_.store.url.empty()) {
      std::fprintf(stderr, "dslmodel: an engine for store %s needs its parts (make_engine_parts)\n",
                   config_.store.url.c_str());
      std::abort();
    }
    parts_.store = std::make_unique<store::DirStore>(config_.coordination_dir, config_.store);
  }
  if (!parts_.journal) {
    parts_.journal = std::make_unique<journal::FileJournal>(
        std::filesystem::path(parts_.store->state_dir()) / "journal.jsonl", config_.journal);
  }
}

AutonomousDecisionEngine::~AutonomousDecisionEngine() = default;

Result<SystemMetrics> AutonomousDecisionEngine::analyze_system_state() {
  Result<Snapshot> snap = parts_.store->snapshot();
  if (!snap.ok()) return snap.status();
  snapshot_ = std::move(snap).value();
  reload_journal();
  SystemMetrics m = measure(snapshot_, config_, parts_.clock->now());
  m.health_score = calculate_health_score(m);
  m.health_state = classify_health(m.health_score);
  return m;
}

double AutonomousDecisionEngine::calculate_health_score(const SystemMetrics& metrics) const {
  return compute_health_score(metrics, config_.health);
}

void AutonomousDecisionEngine::reload_journal() {
  auto summary = parts_.journal->summary();
  if (!summary.ok()) spdlog::warn("journal not read: {}", summary.status().message());
  cached_->summary = summary.ok() ? std::move(summary).value() : JournalSummary{};
  cached_->loaded = true;
}

const AutonomousDecisionEngine::Cached& AutonomousDecisionEngine::cached() const {
  if (!cached_->loaded) const_cast<AutonomousDecisionEngine*>(this)->reload_journal();
  return *cached_;
}

const JournalSummary& AutonomousDecisionEngine::journal_summary() const { return cached().summary; }

Result<std::int64_t> AutonomousDecisionEngine::record(const JournalEntry& e) {
  auto appended = parts_.journal->append(e);
  if (appended.ok()) cached_->loaded = false;  // the journal's summary now includes it
  return appended;
}

std::vector<Decision> AutonomousDecisionEngine::make_autonomous_decisions(
    const SystemMetrics& metrics) {
  const TimePoint now = parts_.clock->now();
  DecisionHistory history = cached().summary.history;
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
  dropped_.clear();
  return normalize_decisions(std::move(ds), config_, &dropped_);
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
  if (!lazy_actuator()) return;
  if (is_leader_ && !parts_.actuator) {
    auto made = parts_.actuator_source();
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

bool AutonomousDecisionEngine::flush_spans(std::chrono::milliseconds timeout) {
  return !parts_.exporter || parts_.exporter->flush(timeout);
}

ExporterStats AutonomousDecisionEngine::exporter_stats() const {
  return parts_.exporter ? parts_.exporter->stats() : ExporterStats{};
}

Result<std::vector<JournalEntry>> AutonomousDecisionEngine::history(std::size_t limit,
                                                                    std::int64_t before_seq) const {
  return parts_.journal->newest(limit, before_seq);
}

// Replays a journaled inverse; `e` gets the actuator's output. The result names what was
// reversed (for the store also when the undo failed).
AutonomousDecisionEngine::Undone AutonomousDecisionEngine::undo_inverse(const nlohmann::json& inv,
                                                                        JournalEntry& e) {
  if (inv.contains("store")) {
    return {parts_.store->undo(inv["store"]),
            fmt::format("restored {} record change(s)", inv["store"].size())};
  }
  if (!inv.contains("actuator")) {
    return {Status(ErrorCode::kInvalidArgument, "decision " + e.decision.id + " has no inverse"),
            ""};
  }
  if (!parts_.actuator) {
    return {Status(ErrorCode::kUnavailable, "no actuator configured to reverse a scaling"), ""};
  }
  auto r = parts_.actuator->undo(inv["actuator"]);
  if (!r.ok()) return {r.status(), ""};
  e.output = r->output;
  return {Status::Ok(), r->summary};
}

Result<std::string> AutonomousDecisionEngine::rollback(const std::string& decision_id) {
  auto entries = parts_.journal->records_of(decision_id);
  if (!entries.ok()) return entries.status();
  auto executed = journal::find_executed(*entries, decision_id);
  if (!executed) {
    return Status(ErrorCode::kNotFound, "no executed decision with id " + decision_id);
  }
  if (journal::is_rolled_back(*entries, decision_id)) {
    return Status(ErrorCode::kConflict, "decision " + decision_id + " was already rolled back");
  }
  const auto start = parts_.clock->steady_now();
  JournalEntry e;
  e.decision = executed->decision;
  e.epoch = epoch_;
  e.replica = replica();
  const Undone undone = undo_inverse(executed->inverse, e);
  e.duration_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(parts_.clock->steady_now() - start)
          .count();
  e.at = parts_.clock->now();
  e.outcome = undone.status.ok() ? Outcome::kRolledBack : Outcome::kRollbackFailed;
  e.result = undone.what;
  e.reason = undone.status.ok() ? "" : undone.status.message();
  if (auto s = record(e); !s.ok()) return s.status();
  if (!undone.status.ok()) return undone.status;
  return undone.what;
}

}  // namespace dslmodel

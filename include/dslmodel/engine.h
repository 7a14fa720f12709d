// AutonomousDecisionEngine: the seed's API for embedders (README.md, docs/architecture.md).
//
//   dslmodel::AutonomousDecisionEngine engine("coordination");
//   auto metrics = engine.analyze_system_state();           // Result<SystemMetrics>
//   auto decisions = engine.make_autonomous_decisions(*metrics);
//   auto report = engine.execute_decisions(decisions, {.max_decisions = 3});
//
// analyze → decide are pure over the last snapshot read; execute acts through the store and the
// actuator and journals every decision the gate sees. The engine builds none of its adapters from
// the configuration: it is handed them (EngineParts; dslmodel/factory.h builds them from a
// Config). Not thread-safe: use one engine from one thread (the loop), or guard it.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dslmodel/actuator.h"
#include "dslmodel/clock.h"
#include "dslmodel/config.h"
#include "dslmodel/decision.h"
#include "dslmodel/journal.h"
#include "dslmodel/leader.h"
#include "dslmodel/metrics.h"
#include "dslmodel/policy.h"
#include "dslmodel/snapshot.h"
#include "dslmodel/status.h"
#include "dslmodel/store.h"
#include "dslmodel/strategy.h"
#include "dslmodel/telemetry.h"

namespace dslmodel {

struct ExecuteOptions {
  int max_decisions = 3;
  std::optional<double> min_confidence;    // default: the engine's confidence_threshold
  std::optional<double> force_confidence;  // lowers the bar to this for this call only
  std::optional<bool> dry_run;             // default: the configured dry_run
};

struct ExecutedDecision {
  std::string decision_id;
  std::string type;
  std::string result;
  std::int64_t duration_ms = 0;
};

struct FailedDecision {
  std::string decision_id;
  std::string type;
  std::string error;
  std::int64_t duration_ms = 0;
};

struct SkippedDecision {
  std::string decision_id;
  std::string type;
  std::string reason;
};

struct ExecutionReport {
  std::vector<ExecutedDecision> executed;
  std::vector<FailedDecision> failed;
  std::vector<SkippedDecision> skipped;
};

// When one decision went through the gate and (if it ran) the actuator.
struct DecisionTiming {
  std::string decision_id;
  TimePoint start{};
  TimePoint end{};
};

struct CycleResult {
  SystemMetrics metrics;
  std::vector<Decision> decisions;
  std::vector<DroppedDecision> dropped;  // what normalisation dropped, and why
  ExecutionReport execution;
  std::vector<RejectedFile> warnings;      // the snapshot's rejected files
  std::vector<FileWarning> file_warnings;  // the snapshot's warnings about kept records
  std::int64_t duration_ms = 0;
};

// Makes the actuator of a replica that has just won leadership.
using ActuatorSource = std::function<Result<std::unique_ptr<Actuator>>()>;

// The adapters an engine works through, built by the caller (dslmodel/factory.h builds them from
// a Config). Members are destroyed in reverse order: the actuator (which may run a thread reading
// the clock) goes first, the clock last.
struct EngineParts {
  std::unique_ptr<Clock> clock;              // null: the system clock
  std::unique_ptr<CoordinationStore> store;  // null: see the constructor
  std::unique_ptr<Journal> journal;          // null: <store state dir>/journal.jsonl
  std::unique_ptr<LeaderElector> elector;    // null: always leader (epoch 0)
  std::unique_ptr<SpanExporter> exporter;    // null: no spans
  // With an elector, the actuator exists only while this replica leads: a follower must not
  // supervise (or replace) the leader's agents. The engine calls this on winning leadership and
  // drops the actuator on losing it (agents keep running; the next leader's supervisor adopts
  // them). Ignored without an elector.
  ActuatorSource actuator_source;
  std::unique_ptr<Actuator> actuator;  // null (and no source): scale decisions are skipped
};

class AutonomousDecisionEngine {
 public:
  // The embedded default: a DirStore on `coordination_dir`, the journal in its .dsl/, the system
  // clock, no actuator, no elector, no exporter.
  explicit AutonomousDecisionEngine(const std::filesystem::path& coordination_dir);
  // An engine over `parts`. A null store is a DirStore on config.coordination_dir.
  // REQUIRES: parts.store is set when config.store.url names another store (aborts otherwise:
  // build the parts with make_engine_parts, dslmodel/factory.h).
  AutonomousDecisionEngine(Config config, EngineParts parts = {});
  AutonomousDecisionEngine(const AutonomousDecisionEngine&) = delete;
  AutonomousDecisionEngine& operator=(const AutonomousDecisionEngine&) = delete;
  virtual ~AutonomousDecisionEngine();

  // Reads a snapshot and the journal's summary (the decisions, the gate and journal_summary()
  // of this cycle share it) and measures the snapshot. Fails when the store cannot be read
  // (e.g. the directory is missing: kNotFound, "coordination directory not found: <path>"); a
  // journal that cannot be read counts as empty.
  Result<SystemMetrics> analyze_system_state();

  // Decisions for these metrics over the last snapshot read: the built-in policy, then each
  // registered handler and strategy, normalised (priority order, invariants). What
  // normalisation drops (a custom scale decision without a target, one outranked by another
  // scale decision…) is kept, with why, in dropped_decisions() until the next call.
  std::vector<Decision> make_autonomous_decisions(const SystemMetrics& metrics);
  const std::vector<DroppedDecision>& dropped_decisions() const { return dropped_; }

  // Gates and runs decisions in priority order; journals every one of them.
  ExecutionReport execute_decisions(const std::vector<Decision>& decisions,
                                    const ExecuteOptions& options = {});

  // What the gate would say of each decision now, without running or journaling anything.
  std::vector<GateVerdict> preview_gate(const std::vector<Decision>& decisions,
                                        const ExecuteOptions& options = {}) const;

  // analyze → decide → execute, then the cycle's spans go to the exporter (one trace per
  // cycle). Fails only when analysis fails.
  Result<CycleResult> run_cycle(const ExecuteOptions& options = {});

  // Reverses an executed decision by its id through its journaled inverse.
  Result<std::string> rollback(const std::string& decision_id);

  // At most `limit` journal records with a seq below `before_seq` (0: the newest), newest
  // first, read from the journal now (Journal::newest).
  Result<std::vector<JournalEntry>> history(std::size_t limit, std::int64_t before_seq = 0) const;
  // The journal's summary (the gate's inputs, open intents, recent outcomes) as of the last
  // analysis or of this engine's last record (read the first time when there was none).
  const JournalSummary& journal_summary() const;

  void add_decision_strategy(std::unique_ptr<DecisionStrategy> strategy);
  void add_decision_handler(const std::string& type, DecisionHandler handler);
  void add_decision_executor(const std::string& type, DecisionExecutor executor);

  double confidence_threshold() const { return config_.gate.min_confidence; }
  void set_confidence_threshold(double c) { config_.gate.min_confidence = c; }
  int max_concurrent_decisions() const { return config_.gate.max_concurrent_decisions; }
  void set_max_concurrent_decisions(int n) { config_.gate.max_concurrent_decisions = n; }

  // Leadership: only a leader gates, executes and journals; a follower measures and decides, and
  // reports every decision skipped with reason not_leader. With an elector (EngineParts) the
  // engine takes its leadership from it at the start of every cycle and confirms it (fencing)
  // right before every journal write and every action; once that fails it acts no more in that
  // cycle. Without one, set_leader() sets it (true by default).
  void set_leader(bool is_leader, std::int64_t epoch);
  bool is_leader() const { return is_leader_; }
  std::int64_t epoch() const { return epoch_; }
  // The elector's view now (always leader, epoch 0, without an elector).
  Leadership leadership() const;
  LeaderElector* elector() const { return parts_.elector.get(); }
  // The persisted remediation switch: when off, the gate skips every decision.
  void set_remediation_enabled(bool enabled) { remediation_enabled_ = enabled; }

  const Config& config() const { return config_; }
  const Snapshot& last_snapshot() const { return snapshot_; }
  const CoordinationStore& store() const { return *parts_.store; }
  bool has_actuator() const { return parts_.actuator != nullptr || lazy_actuator(); }
  bool has_exporter() const { return parts_.exporter != nullptr; }
  // The span exporter's counters (all zero without one).
  ExporterStats exporter_stats() const;
  // Sends queued spans, waiting at most `timeout`; true when all went out (or no exporter).
  bool flush_spans(std::chrono::milliseconds timeout);

 protected:
  // The health score of a measurement. Override to weigh things differently; the default is
  // the seed's formula with config().health.
  virtual double calculate_health_score(const SystemMetrics& metrics) const;

 private:
  struct Cached;  // the journal as last read, and what it says for the policy and the gate

  bool lazy_actuator() const {
    return parts_.elector != nullptr && static_cast<bool>(parts_.actuator_source);
  }
  // The records and history of this cycle; reads the journal when nothing was read yet.
  const Cached& cached() const;
  void reload_journal();
  // Appends to the journal and, when that succeeds, to the cached records.
  Result<std::int64_t> record(const JournalEntry& e);
  JournalEntry entry_for(const Decision& d) const;

  // execute_decisions, one decision: gate verdict → skip, or intent → act → outcome.
  void execute_one(const Decision& d, const GateVerdict& verdict, ExecutionReport& report);
  // Journals the intent; false (and the report says why) when the decision must not run.
  bool record_intent(JournalEntry& e, ExecutionReport& report);
  void act_and_record(const Decision& d, JournalEntry& e, ExecutionReport& report);
  Result<ExecutorResult> run_one(const Decision& d, std::string& output);
  Result<ExecutorResult> run_scale(const Decision& d, std::string& output);
  Result<ExecutorResult> run_repair(const Decision& d, std::string& output);
  Result<ExecutorResult> run_custom(const Decision& d);
  struct Undone {
    Status status;
    std::string what;
  };
  Undone undo_inverse(const nlohmann::json& inverse, JournalEntry& e);

  std::vector<GateVerdict> verdicts_for(const std::vector<Decision>& decisions,
                                        const ExecuteOptions& options,
                                        const DecisionHistory& history, TimePoint now) const;
  // Journals a failed outcome for every intent left open by an engine that was killed mid-action.
  void close_interrupted();
  // The elector's replica id, "" without one.
  std::string replica() const { return parts_.elector ? parts_.elector->id() : std::string(); }
  // Takes leadership and epoch from the elector, if any; makes or drops a lazy actuator.
  void refresh_leadership();
  // Fencing: ok when no elector, or the elector confirms this epoch now; else not leader any more.
  Status fence();

  Config config_;
  EngineParts parts_;
  Snapshot snapshot_;
  std::unique_ptr<Cached> cached_;  // mutable through cached() const
  std::vector<std::unique_ptr<DecisionStrategy>> strategies_;
  std::vector<std::pair<std::string, DecisionHandler>> handlers_;
  std::map<std::string, DecisionExecutor> executors_;
  std::string actuator_error_;  // why the lazily made actuator could not be made
  bool is_leader_ = true;
  std::int64_t epoch_ = 0;
  bool remediation_enabled_ = true;
  std::vector<DecisionTiming> timings_;          // the last execute's, one per decision handled
  std::optional<double> previous_health_;        // the last cycle's, for system_improvement
  std::vector<Recommendation> recommendations_;  // this process's, within the scale-down window
  std::vector<DroppedDecision> dropped_;         // by the last make_autonomous_decisions
};

}  // namespace dslmodel

// Rendering: the JSON shapes of README.md and the human panels and tables.
// Pure functions of values; thread-safe.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "dslmodel/engine.h"

namespace dslmodel::app {

// Terminal styling: colour only on a TTY and when NO_COLOR is unset.
struct Style {
  bool color = false;
  std::string bold(std::string_view s) const;
  std::string dim(std::string_view s) const;
  std::string health(std::string_view s, HealthState state) const;
  std::string good(std::string_view s) const;
  std::string bad(std::string_view s) const;
};

// {"health_score","health_state","active_agents","work_queue_size","completion_rate",
//  "telemetry_volume","pending","in_progress","total_agents","succeeded","failed",
//  "rejected_files","files_read"}
nlohmann::json metrics_json(const SystemMetrics& m);

// "<file>: <reason>" for each rejected file, then "<file>: <message>" for each kept record that
// was warned about (docs/metrics.md).
std::vector<std::string> warnings_of(const std::vector<RejectedFile>& rejected,
                                     const std::vector<FileWarning>& kept = {});
std::vector<std::string> warnings_of(const Snapshot& snap);

// {"command","success","timestamp","data","errors","warnings"}
nlohmann::json envelope(const std::string& command, bool success, nlohmann::json data,
                        const std::vector<std::string>& errors,
                        const std::vector<std::string>& warnings, TimePoint now);

nlohmann::json decisions_json(const std::vector<Decision>& ds);
// [{"type","reason","priority","why"}]: what normalisation dropped.
nlohmann::json dropped_json(const std::vector<DroppedDecision>& ds);

// {"executed":[{"decision_id","type","result","duration_ms"}],
//  "failed":[{"decision_id","type","error","duration_ms"}],
//  "skipped":[{"decision_id","type","reason"}]}
nlohmann::json execution_json(const ExecutionReport& r);

// One journal record for history and recent_decisions.
nlohmann::json journal_entry_json(const JournalEntry& e);

// `warnings` as warnings_of(): the first m.rejected_files are rejected files.
std::string render_status(const std::string& dir, const SystemMetrics& m,
                          const std::vector<JournalEntry>& recent,
                          const std::vector<std::string>& warnings, const Style& st);
// With verbose: each decision's id, parameters, confidence model and, when `verdicts` is given
// (one per decision), what the gate would do.
// "Dropped: <type> (<reason>): <why>" per decision normalisation dropped; empty when none.
std::string render_dropped(const std::vector<DroppedDecision>& ds, const Style& st);
std::string render_decisions(const std::vector<Decision>& ds, bool verbose, const Style& st,
                             const std::vector<GateVerdict>* verdicts = nullptr,
                             double evidence = 1.0);
std::string render_execution(const std::vector<Decision>& ds, const ExecutionReport& r,
                             bool verbose, const Style& st);
std::string render_history(const std::vector<JournalEntry>& entries, const Style& st);

// "cycle 3  health 0.289 critical  agents 2  queue 8  decisions 2: 1 executed, 0 failed, 1 skipped
// 12 ms"
std::string render_cycle_line(std::int64_t cycle, const CycleResult& c, const Style& st);

}  // namespace dslmodel::app

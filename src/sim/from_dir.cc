#include "sim/from_dir.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "dslmodel/capacity.h"
#include "dslmodel/decision.h"
#include "journal/file_journal.h"
#include "journal/history.h"
#include "store/dir_store.h"

namespace dslmodel::sim {
namespace {

double since(TimePoint origin, TimePoint t) {
  return std::chrono::duration<double>(t - origin).count();
}

// A recorded item before the clock's origin is known.
struct Raw {
  std::string id;
  TimePoint created;
  std::optional<double> duration_s;
  std::int64_t priority = 0;
};

struct RawItems {
  std::vector<Raw> items;
  double fallback_s = 0.0;  // the duration of items without one: the mean of the known ones
};

// Every work and completed record with a creation time; completed records run for their
// duration (else finished - claimed_at).
RawItems raw_items(const Snapshot& snap, const Config& config) {
  RawItems out;
  double known = 0.0;
  int known_n = 0;
  for (const CompletedRecord& c : snap.completed) {
    if (!c.created) continue;
    std::optional<double> d;
    if (c.duration) {
      d = std::chrono::duration<double>(*c.duration).count();
    } else if (c.finished && c.claimed_at && *c.finished >= *c.claimed_at) {
      d = since(*c.claimed_at, *c.finished);
    }
    if (d) {
      known += *d;
      ++known_n;
    }
    out.items.push_back({c.id, *c.created, d, 0});
  }
  for (const WorkRecord& w : snap.work) {
    if (w.created) out.items.push_back({w.id, *w.created, std::nullopt, w.priority});
  }
  out.fallback_s = known_n > 0
                       ? known / known_n
                       : std::chrono::duration<double>(config.policy.default_service_time).count();
  return out;
}

// The items on the run's clock, in arrival order (stable).
std::vector<TraceItem> trace_items(const RawItems& raw, TimePoint origin) {
  std::vector<TraceItem> items;
  for (const Raw& r : raw.items) {
    items.push_back({since(origin, r.created),
                     std::max(0.001, r.duration_s.value_or(raw.fallback_s)), r.priority, r.id});
  }
  std::stable_sort(items.begin(), items.end(),
                   [](const TraceItem& a, const TraceItem& b) { return a.at_s < b.at_s; });
  return items;
}

// The executed scale decisions of the journal, on the run's clock.
std::vector<ScaleAction> scale_actions(const std::vector<JournalEntry>& entries, TimePoint origin) {
  std::vector<ScaleAction> actions;
  for (const JournalEntry& e : entries) {
    const Decision& d = e.decision;
    if (e.outcome != Outcome::kExecuted ||
        (d.type != decision_type::kScaleUp && d.type != decision_type::kScaleDown)) {
      continue;
    }
    const int current = d.scale ? static_cast<int>(d.scale->current_agents.value_or(0)) : 0;
    const int target = d.scale ? static_cast<int>(d.scale->target_agents) : 0;
    actions.push_back({since(origin, e.at), d.type, current, target, d.reason});
  }
  return actions;
}

}  // namespace

Result<RecordedRun> read_recorded_run(const Config& config) {
  store::DirStore dir(config.coordination_dir, config.store);
  auto snap = dir.snapshot();
  if (!snap.ok()) return snap.status();
  journal::FileJournal file(std::filesystem::path(dir.state_dir()) / "journal.jsonl");
  auto entries = file.read_all();
  if (!entries.ok()) return entries.status();

  const RawItems raw = raw_items(*snap, config);
  if (raw.items.empty()) {
    return Status(ErrorCode::kInvalidArgument,
                  fmt::format("{} holds no work or completed record with a \"created\" time",
                              config.coordination_dir));
  }
  RecordedRun run;
  run.origin = std::min_element(raw.items.begin(), raw.items.end(), [](const Raw& a, const Raw& b) {
                 return a.created < b.created;
               })->created;
  std::optional<TimePoint> first_entry;
  for (const JournalEntry& e : *entries) {
    if (!first_entry || e.at < *first_entry) first_entry = e.at;
  }
  if (first_entry && *first_entry < run.origin) run.origin = *first_entry;
  run.first_cycle_s = first_entry ? since(run.origin, *first_entry) : 0.0;

  run.trace.name = std::filesystem::path(config.coordination_dir).filename().string();
  run.trace.items = trace_items(raw, run.origin);
  run.actions = scale_actions(*entries, run.origin);
  const DecisionHistory history = journal::history_from_journal(*entries);
  const TimePoint end = first_entry ? entries->back().at : run.origin;
  run.trace.run_until_s = since(run.origin, end);
  const SystemMetrics m = measure(*snap, config, end);
  const CapacityEstimate cap = estimate_capacity(*snap, m, config, history, end);
  run.startup_lag_s = cap.lag_samples > 0 ? cap.startup_lag_s : 1.0;
  return run;
}

}  // namespace dslmodel::sim

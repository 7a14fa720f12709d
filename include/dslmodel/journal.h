// Journal: the audit trail of every decision the gate saw, with its inverse (README.md).
//
// Appends are durable when they return ok (written and fsynced): a crash at any moment leaves
// every acknowledged record readable, and at most one torn last line, which readers skip.
// One writer process at a time; readers may run concurrently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dslmodel/decision.h"
#include "dslmodel/policy.h"
#include "dslmodel/status.h"

namespace dslmodel {

enum class Outcome { kIntent, kExecuted, kFailed, kSkipped, kRolledBack, kRollbackFailed };

// "intent", "executed", "failed", "skipped", "rolled_back", "rollback_failed".
std::string_view to_string(Outcome o);
std::optional<Outcome> outcome_from_string(std::string_view s);

struct JournalEntry {
  std::int64_t seq = 0;  // assigned by append(): 1, 2, 3…
  TimePoint at{};
  Outcome outcome = Outcome::kIntent;
  Decision decision;   // for kRolledBack: the decision that was reversed
  std::string reason;  // kSkipped: the gate's reason code; kFailed: the error
  std::string result;  // kExecuted: one line; kRolledBack: what the rollback did
  std::string output;  // actuator output, bounded
  std::int64_t duration_ms = 0;
  std::int64_t epoch = 0;  // the leader epoch the engine held
  std::string replica;     // the id of the replica that wrote it, with leader election
  nlohmann::json inverse = nlohmann::json::object();
  // kSkipped: how many later cycles skipped the same decision for the same reason and were
  // counted here instead of journaled again, and when the last of them was (docs/journal.md).
  std::int64_t repeats = 0;
  std::optional<TimePoint> last_at;
};

// What the engine reads of the past every cycle: small, and kept up to date as records are
// appended, so that reading it costs the same after a month as after a minute.
struct JournalSummary {
  std::int64_t last_seq = 0;               // the newest record's seq; 0 for an empty journal
  DecisionHistory history;                 // the gate's and the policy's inputs
  std::vector<JournalEntry> open_intents;  // intents with no outcome yet, oldest first
  std::vector<JournalEntry> recent;        // the newest final outcomes, newest first (≤ 16)
};

// A record as the journal stores it. Of a decision's repair actions only the first
// kJournaledActions are written, with "actions_total" counting them all.
inline constexpr std::size_t kJournaledActions = 20;
nlohmann::json to_json(const JournalEntry& e);
std::optional<JournalEntry> journal_entry_from_json(const nlohmann::json& j);
// The record one JSON text holds (a journal line, an etcd value), or nullopt when it is not
// valid JSON or not a valid record. Never throws.
std::optional<JournalEntry> journal_entry_from_text(std::string_view text);

class Journal {
 public:
  Journal() = default;
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;
  virtual ~Journal() = default;

  // Durably appends; sets entry.seq. Fails with kIo when the record could not be made durable.
  virtual Result<std::int64_t> append(JournalEntry entry) = 0;

  // Every readable record within retention, oldest first. A torn or corrupt line is skipped.
  virtual Result<std::vector<JournalEntry>> read_all() const = 0;

  // The summary of every record. This default folds read_all(); a backend that keeps an index
  // answers without reading its records.
  virtual Result<JournalSummary> summary() const;

  // At most `limit` records with a seq below `before_seq` (0: the newest), newest first. This
  // default filters read_all(); a backend reads only what it returns, from the end.
  virtual Result<std::vector<JournalEntry>> newest(std::size_t limit,
                                                   std::int64_t before_seq = 0) const;

  // Every record of one decision, oldest first (its intent, outcome, rollback). This default
  // filters read_all(); a backend may read from the newest record back.
  virtual Result<std::vector<JournalEntry>> records_of(std::string_view decision_id) const;
};

}  // namespace dslmodel

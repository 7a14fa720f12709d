// Journal: the audit trail of every decision the gate saw, with its inverse (README.md).
//
// Appends are durable when they return ok (written and fsynced): a crash at any moment leaves
// every acknowledged record readable, and at most one torn last line, which readers skip.
// One writer process at a time; readers may run concurrently.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dslmodel/decision.h"
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
};

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

  // Every readable record, oldest first. A torn or corrupt line is skipped.
  virtual Result<std::vector<JournalEntry>> read_all() const = 0;
};

}  // namespace dslmodel

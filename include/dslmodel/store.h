// CoordinationStore: where the swarm's shared state lives: records of four kinds (agent, work,
// completed, telemetry), each named by its kind and id (docs/metrics.md).
//
// The engine reads a whole Snapshot each cycle and changes the world only through apply(), whose
// every change is atomic per record and returns an inverse that undo() replays. Nothing is ever
// deleted: given-up work becomes a dead record, compacted history is archived.
// Implementations must be safe to use from one thread at a time; different processes may use the
// same store concurrently (atomic renames keep every record whole).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "dslmodel/repair.h"
#include "dslmodel/snapshot.h"
#include "dslmodel/status.h"

namespace dslmodel {

struct RepairOutcome {
  int applied = 0;
  int skipped = 0;                 // the record changed or vanished since the snapshot
  std::vector<std::string> notes;  // one line per skipped or failed action, or removed temp file
  // Temp files of interrupted writes that the repair removed (they held no record; nothing to
  // undo).
  int removed_temp_files = 0;
  nlohmann::json inverse = nlohmann::json::array();  // for undo(); one element per applied action
};

class CoordinationStore {
 public:
  CoordinationStore() = default;
  CoordinationStore(const CoordinationStore&) = delete;
  CoordinationStore& operator=(const CoordinationStore&) = delete;
  virtual ~CoordinationStore() = default;

  // Reads every record. Unreadable or invalid records are listed in Snapshot::rejected, never
  // fatal. Fails (kNotFound, kIo) only when the store itself cannot be read.
  virtual Result<Snapshot> snapshot() = 0;

  // Applies each action atomically; an action whose precondition no longer holds is skipped.
  // Fails only when the store cannot be written at all; partial progress is in the outcome.
  virtual Result<RepairOutcome> apply(const std::vector<RepairAction>& actions) = 0;

  // Replays an inverse returned by apply(), newest change first. Idempotent.
  virtual Status undo(const nlohmann::json& inverse) = 0;

  // Fencing: from now on apply() and undo() write only while `epoch` is still the leader's
  // epoch, and fail with kConflict once it is not (0: unfenced). A store that cannot check this
  // ignores it; the engine confirms its leadership before acting either way.
  virtual void set_fencing_epoch(std::int64_t epoch) { (void)epoch; }

  // Where the engine keeps its private state for this store (journal, settings): a directory.
  virtual std::string state_dir() const = 0;

  // For messages: the directory or URL.
  virtual std::string describe() const = 0;
};

}  // namespace dslmodel

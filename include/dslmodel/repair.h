// RepairAction: one change to one coordination record that a repair or optimize decision carries
// and CoordinationStore::apply() makes (dslmodel/store.h, docs/architecture.md).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "dslmodel/status.h"

namespace dslmodel {

enum class RepairOp {
  kRequeue,      // a claimed work record back to pending: claim cleared, attempts += 1
  kDeadLetter,   // work record <id> → dead record <id>, status "dead" with dead_reason
  kRetryFailed,  // failed completed record <id> → new pending work record <id>; the completed
                 // record is archived (retried)
  kArchive,      // a completed or telemetry record is archived; it keeps counting in totals
  kFinalize,     // a claimed work record whose completed record exists (its agent died between
                 // the two steps of finishing) is archived (done): the item ran, never rerun it
};

// "requeue", "dead_letter", "retry_failed", "archive", "finalize".
std::string to_string(RepairOp op);

struct RepairAction {
  RepairOp op = RepairOp::kRequeue;
  std::string file;               // the record: its kind prefix and id, e.g. "work_7.json"
  std::string expect_claimed_by;  // kRequeue, kFinalize: applied only while the item is still
                                  // claimed by it (empty: by anyone)
  std::string reason;             // stable code, e.g. "orphaned_claim", "lease_expired"
};

// {"op","file","reason","expect_claimed_by"}: how decisions and the journal carry an action.
nlohmann::json to_json(const RepairAction& action);

// The inverse of to_json(). Absent members are empty; kInvalidArgument when `j` is not an
// object, "op" is not one of to_string(RepairOp)'s words, or a member is not a string.
Result<RepairAction> repair_action_from_json(const nlohmann::json& j);

}  // namespace dslmodel

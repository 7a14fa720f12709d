// WorkQueue: the agents' side of the coordination store (docs/agents.md): adding work, claiming
// it atomically, recording its outcome, heartbeats and telemetry. It speaks of records by kind
// and id (work <id>, completed <id>, dead <id>, agent <id>, telemetry <id>); how a backend
// stores them (files, keys) is the backend's.
//
// Claims are exclusive: when many agents race for one item, exactly one claim_next() returns it.
// A claim held by an agent that died stays visible (status "claimed", claimed_by, lease_expires)
// so that coordination_improve can requeue it. Nothing is deleted: a finished item's work record
// is archived (done), given-up work becomes the dead record <id>.
// Implementations are safe to use from many processes at once; one object from one thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <stop_token>
#include <string>
#include <utility>
#include <vector>

#include "dslmodel/config.h"
#include "dslmodel/snapshot.h"
#include "dslmodel/status.h"

namespace dslmodel {

struct NewWork {
  std::string id;                     // optional: generated ("<unix_ms>-<random>") when empty
  std::vector<std::string> command;   // argv, run without a shell
  std::optional<std::string> prompt;  // text for an LLM agent; exclusive with command
  std::int64_t priority = 0;          // higher first
  std::int64_t max_attempts = 3;
  std::optional<Seconds> timeout;  // per attempt
};

// One work item as stored, parsed fully (payload included).
struct WorkItem {
  std::string id;    // the item's id: the work record <id>
  std::string file;  // the record's name in the store's vocabulary: "work_<id>.json"
  std::string status;
  std::vector<std::string> command;
  bool command_invalid = false;  // "command" present but not an array of strings: never run
  std::optional<std::string> prompt;
  std::int64_t priority = 0;
  std::int64_t attempts = 0;
  std::int64_t max_attempts = 3;
  std::optional<Seconds> timeout;
  std::string claimed_by;
  std::optional<TimePoint> created;
  std::optional<TimePoint> claimed_at;
  std::optional<TimePoint> lease_expires;
  nlohmann::json raw = nlohmann::json::object();  // the whole record as read
};

// What an agent reports after running a claimed item.
struct Completion {
  bool success = false;
  int exit_code = -1;
  std::int64_t duration_ms = 0;
  std::string output;  // a bounded tail of stdout+stderr
  std::string error;   // why it failed, for humans
};

enum class FinishOutcome {
  kCompleted,  // the completed record <id> written with status "completed"
  kRetrying,   // failed with attempts left: back to pending, attempts + 1
  kFailed,     // failed for good: the completed record <id> with status "failed"
};

struct AgentState {
  std::string id;
  std::string status = "idle";  // idle | busy | draining | stopped | failed
  std::int64_t pid = 0;
  std::string host;
  std::string current_work;  // item id while busy
  std::optional<TimePoint> created;
};

class WorkQueue {
 public:
  WorkQueue() = default;
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;
  virtual ~WorkQueue() = default;

  // Writes a new pending work record {"id","status":"pending","priority","created",
  // "attempts":0,"max_attempts","timeout_s"?,"command"|"prompt"}; the id is generated
  // ("<unix_ms>-<6 hex>") when empty. kInvalidArgument: an id outside [A-Za-z0-9._-]{1,128},
  // neither or both of command/prompt, max_attempts, priority or timeout out of range;
  // kConflict: a work, completed or dead record of the id exists (an item that ran or was given
  // up is never queued again under its id; archived records do not count). Returns the id.
  virtual Result<std::string> add(const NewWork& work) = 0;

  // Claims a pending item (status "pending" or none) in queue order: priority desc, then created
  // asc (unknown last), then id; sets status "claimed", claimed_by, claimed_at and
  // lease_expires = now + lease. Items whose "command" is not an argv array are still claimed
  // (WorkItem::command_invalid): the agent fails them. nullopt when nothing is pending;
  // kInvalidArgument for a bad agent id.
  virtual Result<std::optional<WorkItem>> claim_next(const std::string& agent_id,
                                                     Seconds lease) = 0;

  // Records the outcome of an item this agent claimed. Requires the work record claimed by
  // `agent_id` (and, when `claimed` carries claimed_at, by that very claim); else kConflict and
  // nothing is written.
  //   success: completed record {"id","status":"completed","result","exit_code","duration_ms",
  //     "agent","finished","attempts":attempts+1,"max_attempts",payload...}, the work record
  //     archived (done) → kCompleted.
  //   failure with attempts left: back to pending, attempts + 1, "last_error" → kRetrying.
  //   failure, no attempts left: completed record with status "failed", "error", "output" →
  //     kFailed.
  // An existing failed completion (an earlier attempt's) is archived (retried) first; an existing
  // successful one means the item already ran: the work record is archived and the result is
  // kConflict "... already completed ...".
  virtual Result<FinishOutcome> finish(const WorkItem& claimed, const std::string& agent_id,
                                       const Completion& completion) = 0;

  // Gives a claimed item back unrun: pending again, attempts unchanged. kConflict as finish().
  virtual Status release(const WorkItem& claimed, const std::string& agent_id) = 0;

  // Records in the claim (field "processes") where its command runs. kConflict as finish(). Not
  // made durable: a host crash that loses it ends the processes too. This default records
  // nothing (a store without it keeps the lease rule alone).
  virtual Status note_processes(const WorkItem& claimed, const std::string& agent_id,
                                const ClaimProcesses& processes) {
    (void)claimed;
    (void)agent_id;
    (void)processes;
    return Status::Ok();
  }

  // Writes the agent record {"id","status","heartbeat":now,"pid","host","current_work"?,
  // "created"?}. kInvalidArgument for an id outside [A-Za-z0-9._-]{1,128}.
  virtual Status heartbeat(const AgentState& agent) = 0;

  // Writes the telemetry record {"id","timestamp":now,"metrics":metrics}. kInvalidArgument for a
  // bad id or when `metrics` is not an object.
  virtual Status record_telemetry(const std::string& id, const nlohmann::json& metrics) = 0;

  // Every work record the snapshot would count, in queue order; only those whose status
  // (lower-cased; missing = "pending") equals `status` (lower-cased) when it is non-empty.
  virtual Result<std::vector<WorkItem>> list(const std::string& status) = 0;

  // One item by id, wherever it is, looked for in this order: the work record, the completed
  // record, the dead record, the archived (done) work record; returned with "location":
  // "queue" | "completed" | "dead" | "archive" added. kNotFound when none exists;
  // kInvalidArgument for a bad id; kCorrupt when the record found is not a JSON object.
  virtual Result<nlohmann::json> show(const std::string& id) = 0;

  // Puts an item back to pending with attempts 0, keeping its payload:
  //   a work record (any status) → pending, claim fields removed ("pending" with 0 attempts: no
  //     write). kConflict when it is claimed but its completed record exists.
  //   a dead record → the work record <id>, pending.
  //   a failed completed record with payload → a new work record; the completed record is
  //     archived (retried).
  // kInvalidArgument: a successful completion, or a failure without payload; kNotFound otherwise.
  virtual Status requeue(const std::string& id) = 0;

  // Blocks until work may have arrived, at most `max_wait`, returning early once `stop` is
  // requested. A hint only: the caller claims afterwards and may find nothing. This default just
  // waits (interruptibly) for max_wait; a store that can watch for new items (etcd) returns as
  // soon as one is written. Never fails: a store it cannot watch falls back to waiting.
  virtual void wait_for_work(std::chrono::milliseconds max_wait, std::stop_token stop) {
    std::mutex mu;
    std::condition_variable_any cv;
    std::unique_lock<std::mutex> lock(mu);
    cv.wait_for(lock, std::move(stop), max_wait, [] { return false; });
  }
};

}  // namespace dslmodel

// WorkQueue: the agents' side of the coordination store (DESIGN §3): adding work, claiming it
// atomically, recording its outcome, heartbeats and telemetry.
//
// Claims are exclusive: when many agents race for one item, exactly one claim_next() returns it.
// A claim held by an agent that died stays visible (status "claimed", claimed_by, lease_expires)
// so that coordination_improve can requeue it. Nothing is deleted: a finished item's work file
// moves under archive/, given-up work becomes dead_<id>.json.
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
  std::string id;    // the file's id: work_<id>.json
  std::string file;  // "work_<id>.json"
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
  kCompleted,  // completed_<id>.json written with status "completed"
  kRetrying,   // failed with attempts left: back to pending, attempts + 1
  kFailed,     // failed for good: completed_<id>.json with status "failed"
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

  // Writes a new pending item. kInvalidArgument: neither or both of command/prompt, bad id;
  // kConflict: the id exists. Returns the id.
  virtual Result<std::string> add(const NewWork& work) = 0;

  // Claims the pending item with the highest priority (then oldest), setting status "claimed",
  // claimed_by, claimed_at and lease_expires = now + lease. nullopt when nothing is pending.
  virtual Result<std::optional<WorkItem>> claim_next(const std::string& agent_id,
                                                     Seconds lease) = 0;

  // Records the outcome of an item this agent claimed. kConflict when the claim was lost (the
  // item was requeued or claimed by someone else): nothing is written then.
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

  // Writes agent_<id>.json with heartbeat = now.
  virtual Status heartbeat(const AgentState& agent) = 0;

  // Writes telemetry_<id>.json {"id","timestamp","metrics":metrics}.
  virtual Status record_telemetry(const std::string& id, const nlohmann::json& metrics) = 0;

  // Items in the queue (work_*.json), highest priority first; `status` filters when non-empty.
  virtual Result<std::vector<WorkItem>> list(const std::string& status) = 0;

  // One item by id, wherever it is: queued, completed, dead or archived. Returns the record.
  virtual Result<nlohmann::json> show(const std::string& id) = 0;

  // Puts an item back to pending from wherever it is (claimed, dead_, failed completed_), keeping
  // its payload; attempts reset to 0. kNotFound when no such item.
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

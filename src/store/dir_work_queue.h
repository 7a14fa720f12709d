// DirWorkQueue: the agents' side of the coordination directory (DESIGN §3) as a WorkQueue.
//
// Claim protocol. Every read-modify-write of an item (claim, finish, release, requeue, and
// DirStore::apply's repairs of it) holds the item's striped flock (store/item_lock.h), re-reads
// the file, checks its precondition and writes the new version atomically (temp file, fsync,
// rename, fsync of the directory). Readers never lock. So among racing claimers exactly one sees
// "pending" and wins; a finish or release by an agent whose claim was taken back writes nothing.
//
// Files:
//   work_<id>.json                 queued: status pending | claimed (claimed_by, claimed_at,
//                                  lease_expires), attempts, max_attempts, command | prompt
//   completed_<id>.json            outcome: status completed | failed, created with
//                                  rename-noreplace, so an item has at most one completion
//   archive/done/work_<id>.json    the work file of a finished item (suffix ".<n>" when taken)
//   archive/retried/               failed completions put back in the queue by requeue()
// Finishing writes completed_<id>.json first, then moves the work file away. A crash between the
// two leaves a claimed work file beside its completion: core's plan_queue_repairs emits
// RepairOp::kFinalize for it, and DirStore::apply moves the work file to archive/done/.
//
// Durability (OS crash or power loss; a killed process loses nothing): completions, releases,
// retries and requeues are fsynced, file and directory, before the call returns. A claim fsyncs
// its data but not the directory: a claim lost in a host crash leaves the item pending, which is
// what the engine makes of a dead agent's claim anyway. Moving a finished work file to
// archive/done/ is a plain rename: a move lost in a crash leaves a claimed work file beside its
// durable completion, which the engine finalizes. Heartbeats and telemetry are atomic (temp +
// rename, never torn) but not fsynced: a power loss may lose the newest heartbeat (the agent then
// looks stale, as it is) or a telemetry record (an empty file is rejected with a warning).
// Costs measured on ext4: docs/performance.md and dir_claim_race_test.cc.
//
// Thread-safety: one object is used by one thread at a time. Any number of objects, threads and
// processes may share one directory. A child process after fork() must build its own object (the
// lock descriptors would otherwise be shared with the parent).
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dslmodel/clock.h"
#include "dslmodel/config.h"
#include "dslmodel/work_queue.h"
#include "store/item_lock.h"

namespace dslmodel::store {

class DirWorkQueue final : public WorkQueue {
 public:
  // `clock` stamps created, claimed_at, lease_expires, finished and heartbeats; nullptr means the
  // system clock. The clock, when given, must outlive the queue. Touches no file.
  explicit DirWorkQueue(std::filesystem::path dir, StoreConfig cfg = {},
                        const Clock* clock = nullptr);

  // Writes work_<id>.json {"id","status":"pending","priority","created","attempts":0,
  // "max_attempts","timeout_s"?,"command"|"prompt"} with create-noreplace. The id is generated as
  // "<unix_ms>-<6 hex>" when empty. kInvalidArgument: an id outside [A-Za-z0-9._-]{1,128},
  // neither or both of command/prompt, an empty argv element list, max_attempts < 1, a negative
  // timeout. kConflict: work_<id>.json exists. kNotFound: the directory does not exist.
  Result<std::string> add(const NewWork& work) override;

  // Claims the best pending item (status "pending" or none): priority desc, then created asc
  // (unknown last), then file name. Candidates come from a cache filled by one listing pass and
  // refilled when used up or older than candidate_max_age(), so an item added by another process
  // may wait that long before it is preferred. Items whose "command" is not an argv array are
  // still claimed (WorkItem::command_invalid): the agent fails them. nullopt when nothing is
  // pending. kNotFound: the directory does not exist; kIo: a lock or write failed.
  Result<std::optional<WorkItem>> claim_next(const std::string& agent_id, Seconds lease) override;

  // Under the item lock, requires work_<id>.json to be claimed by `agent_id` (and, when
  // `claimed` carries claimed_at, by that very claim); else kConflict and nothing is written.
  //   success: completed_<id>.json {"id","status":"completed","result","exit_code",
  //     "duration_ms","agent","finished","attempts":attempts+1,"max_attempts",payload...}, then
  //     the work file moves to archive/done/ → kCompleted.
  //   failure, attempts+1 < max_attempts: work back to pending, attempts+1, "last_error" →
  //   kRetrying. failure, no attempts left: completed_<id>.json with status "failed", "error",
  //   "output" and
  //     attempts == max_attempts (not retryable), work file to archive/done/ → kFailed.
  // An existing failed completion (left by an interrupted retry) is moved to archive/retried/
  // first; an existing successful one means the item already ran: the work file is archived and
  // the result is kConflict. When the completion is written but the work file cannot be moved,
  // the outcome is still returned: the claimed work file is finalized by the engine (kFinalize).
  Result<FinishOutcome> finish(const WorkItem& claimed, const std::string& agent_id,
                               const Completion& completion) override;

  // Claimed by `agent_id` → pending, claim fields removed, attempts unchanged. kConflict as finish.
  Status release(const WorkItem& claimed, const std::string& agent_id) override;

  // Claimed by `agent_id` → "processes" set, nothing else changed. kConflict as finish.
  Status note_processes(const WorkItem& claimed, const std::string& agent_id,
                        const ClaimProcesses& processes) override;

  // agent_<id>.json {"id","status","heartbeat":now,"pid","host","current_work"?,"created"?},
  // atomic, not fsynced. kInvalidArgument for an id outside [A-Za-z0-9._-]{1,128}.
  Status heartbeat(const AgentState& agent) override;

  // telemetry_<id>.json {"id","timestamp":now,"metrics"}, atomic, not fsynced. kInvalidArgument
  // for a bad id or when `metrics` is not an object.
  Status record_telemetry(const std::string& id, const nlohmann::json& metrics) override;

  // Every readable work_*.json as a WorkItem (payload and raw record), priority desc, then
  // created asc, then file name; only those whose status (lower-cased; missing = "pending")
  // equals `status` when it is non-empty. Unreadable or invalid files are skipped.
  Result<std::vector<WorkItem>> list(const std::string& status) override;

  // The record of work_<id>.json, else completed_<id>.json, else dead_<id>.json, else
  // archive/done/work_<id>.json, with "location": "queue" | "completed" | "dead" | "archive"
  // added. kNotFound when none exists; kInvalidArgument for a bad id; kCorrupt when the file
  // found is not a JSON object.
  Result<nlohmann::json> show(const std::string& id) override;

  // Back to pending with attempts 0, under the item lock:
  //   work_<id>.json (any status) → pending, claim fields removed ("pending" with 0 attempts: no
  //     write). kConflict when it is claimed but completed_<id>.json already exists.
  //   dead_<id>.json → work_<id>.json (rename-noreplace), then rewritten pending.
  //   failed completed_<id>.json with payload → new work_<id>.json, the record moves to
  //     archive/retried/.
  // kInvalidArgument: a successful completion, or a failure without payload; kNotFound otherwise.
  Status requeue(const std::string& id) override;

  // How long the claim candidate cache is trusted; default 2 s. Zero: relist before every claim.
  void set_candidate_max_age(std::chrono::milliseconds age) { candidate_max_age_ = age; }
  std::chrono::milliseconds candidate_max_age() const { return candidate_max_age_; }

  const std::filesystem::path& dir() const { return dir_; }

 private:
  struct Candidate {
    std::string id;
    std::string file;
    std::int64_t priority = 0;
    std::optional<TimePoint> created;
  };
  enum class TryResult { kClaimed, kTaken, kBusy };

  Status refill();
  Result<TryResult> try_claim(const Candidate& c, bool wait, const std::string& agent_id,
                              Seconds lease, std::optional<WorkItem>& out);
  Result<std::optional<WorkItem>> claim_from_cache(const std::string& agent_id, Seconds lease);
  Status write_completion(const std::string& id, const std::string& text, bool& duplicate);
  Status finalize_work(const std::string& id);
  // Under the item's lock: reads work_<id>.json, checks `agent_id` still holds the claim, applies
  // `edit` and writes it back (fsynced when `durable`). The shared part of release and
  // note_processes.
  Status edit_claimed(const WorkItem& claimed, const std::string& agent_id,
                      const std::function<void(nlohmann::ordered_json&)>& edit, bool durable);

  std::filesystem::path dir_;
  StoreConfig cfg_;
  SystemClock system_clock_;
  const Clock* clock_;  // never null
  detail::ItemLocks locks_;
  std::vector<Candidate> candidates_;  // pending at the last listing, best first
  std::size_t next_ = 0;               // the next candidate to try
  std::chrono::steady_clock::time_point listed_at_{};
  std::chrono::milliseconds candidate_max_age_{2000};
  std::string buf_;  // reused read buffer
};

}  // namespace dslmodel::store

// DirWorkQueue: the agents' side of the coordination directory (docs/agents.md) as a WorkQueue.
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
#include "store/work_item.h"

namespace dslmodel::store {

class DirWorkQueue final : public WorkQueue {
 public:
  // `clock` stamps created, claimed_at, lease_expires, finished and heartbeats; nullptr means the
  // system clock. The clock, when given, must outlive the queue. Touches no file.
  explicit DirWorkQueue(std::filesystem::path dir, StoreConfig cfg = {},
                        const Clock* clock = nullptr);

  // WorkQueue (dslmodel/work_queue.h), on files. Specific to the directory:
  // - add() creates work_<id>.json with create-noreplace; kNotFound when the directory does not
  //   exist.
  // - claim_next(): candidates come from a cache filled by one listing pass and refilled when
  //   used up or older than candidate_max_age(), so an item added by another process may wait
  //   that long before it is preferred. kNotFound: the directory does not exist; kIo: a lock or
  //   write failed.
  // - finish() runs under the item lock. The work file moves to archive/done/ after the
  //   completion is written; when it cannot be moved the outcome is still returned: the claimed
  //   work file is finalized by the engine (kFinalize).
  // - heartbeat() and record_telemetry() are atomic, not fsynced.
  // - list() skips unreadable or invalid files.
  // - requeue() runs under the item lock; a dead record comes back by rename-noreplace.
  Result<std::string> add(const NewWork& work) override;
  Result<std::optional<WorkItem>> claim_next(const std::string& agent_id, Seconds lease) override;
  Result<FinishOutcome> finish(const WorkItem& claimed, const std::string& agent_id,
                               const Completion& completion) override;
  Status release(const WorkItem& claimed, const std::string& agent_id) override;
  Status note_processes(const WorkItem& claimed, const std::string& agent_id,
                        const ClaimProcesses& processes) override;
  Status heartbeat(const AgentState& agent) override;
  Status record_telemetry(const std::string& id, const nlohmann::json& metrics) override;
  Result<std::vector<WorkItem>> list(const std::string& status) override;
  Result<nlohmann::json> show(const std::string& id) override;
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
  // Under the item's lock: work_<id>.json of `claimed`, read, once `agent_id` still holds the
  // claim. The shared part of finish and edit_claimed.
  struct ClaimedRecord {
    detail::ItemLocks::Guard guard;
    std::string work;  // the record's file name
    detail::LoadedRecord rec;
  };
  Result<ClaimedRecord> load_claimed(const WorkItem& claimed, const std::string& agent_id);
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

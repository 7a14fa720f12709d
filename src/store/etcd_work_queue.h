// EtcdWorkQueue: the agents' side of the coordination state in etcd (store/etcd_keys.h) as a
// WorkQueue, with the same records and contract as DirWorkQueue (store/dir_work_queue.h).
//
// Claim protocol. Every read-modify-write of an item is one etcd transaction that compares the
// item's mod_revision with the one read: among racing claimers exactly one transaction commits,
// and a finish or release by an agent whose claim was taken back commits nothing. So that many
// agents do not all fight for the head of the queue, a claim tries the pending items in queue
// order starting at a random one among the first few (up to 8): priority order is kept roughly,
// exclusivity absolutely.
//
// Keys (P = the prefix):
//   P/work/<id>                  queued: status pending | claimed (claimed_by, claimed_at,
//                                lease_expires), attempts, max_attempts, command | prompt
//   P/completed/<id>             outcome: status completed | failed; at most one per item
//   P/dead/<id>                  given-up work (written by the engine's dead-lettering)
//   P/archive/done/work_<id>.json      the work record of a finished item ("<stem>.<n>.json"
//                                      when taken)
//   P/archive/retried/completed_<id>.json  failed completions put back in the queue
// Finishing is ONE transaction: the claim unchanged and no completion yet → put the completion,
// delete the work key, put its archive copy. There is no crash window between the two: the
// engine's kFinalize is never needed for items finished here.
// Every acknowledged write is durable as etcd makes it (committed to a quorum, fsynced).
//
// Errors: kUnavailable (or kTimeout) when etcd cannot be reached; a transaction that timed out
// may have committed (a claim then stays with its lease and is requeued by the engine).
// Thread-safety: one object is used by one thread at a time. Any number of objects, threads and
// processes may share one etcd and prefix; objects may share one (thread-safe) client.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "dslmodel/clock.h"
#include "dslmodel/config.h"
#include "dslmodel/work_queue.h"

namespace dslmodel::etcd {
class Client;
}

namespace dslmodel::store {

class EtcdWorkQueue final : public WorkQueue {
 public:
  // `prefix` as in etcd_keys.h (e.g. "/dslmodel"). `clock` stamps created, claimed_at,
  // lease_expires, finished and heartbeats; nullptr means the system clock; when given it must
  // outlive the queue. REQUIRES: client is not null. Does no I/O.
  EtcdWorkQueue(std::shared_ptr<etcd::Client> client, std::string prefix, StoreConfig cfg = {},
                const Clock* clock = nullptr);

  // WorkQueue (dslmodel/work_queue.h), on keys. Specific to etcd:
  // - add() is a transaction that requires P/work/<id>, P/completed/<id> and P/dead/<id> absent
  //   (kConflict when the item exists queued, completed or dead).
  // - claim_next() takes the best candidate or, to spread racing agents, one of the next few
  //   after it (set_claim_spread). Candidates (with their values and revisions) come from a
  //   cache filled by one listing of P/work/ and refilled when used up or older than
  //   candidate_max_age(), so a claim is usually one transaction.
  // - finish(), on success or failure with no attempts left: ONE transaction puts
  //   P/completed/<id>, deletes P/work/<id> and puts its archive/done copy (and moves a stale
  //   failed completion to archive/retried/).
  // - list() skips records over the size limit.
  // - show() reads every place at one revision.
  // - requeue() is one transaction.
  // - wait_for_work() watches P/work/ from just after the last revision this queue read or
  //   wrote, returning at the first put of a pending record (an item added, released, retried or
  //   requeued by anyone; claims do not wake it), after max_wait, or once `stop` is requested.
  //   When the watch cannot be set up or breaks (etcd down), it waits out the rest of max_wait
  //   interruptibly instead.
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
  void wait_for_work(std::chrono::milliseconds max_wait, std::stop_token stop) override;

  // How long the claim candidate cache is trusted; default 2 s. Zero: relist before every claim.
  void set_candidate_max_age(std::chrono::milliseconds age) { candidate_max_age_ = age; }
  std::chrono::milliseconds candidate_max_age() const { return candidate_max_age_; }

  // How many of the best candidates a claim picks from at random; default 8. 1: strict queue
  // order (one agent alone, tests).
  void set_claim_spread(std::size_t n) { claim_spread_ = std::max<std::size_t>(n, 1); }

  const std::string& prefix() const { return prefix_; }

 private:
  struct Candidate {
    std::string file;  // "work_<id>.json"
    std::string key;
    std::string value;
    std::int64_t mod_revision = 0;
    std::int64_t priority = 0;
    std::optional<TimePoint> created;
  };

  Status refill();
  // Reads P/work/<id>, checks `agent_id` still holds the claim, applies `edit` and puts it back
  // compared on the revision read, retrying a lost race. The shared part of release and
  // note_processes.
  Status edit_claimed(const WorkItem& claimed, const std::string& agent_id,
                      const std::function<void(nlohmann::ordered_json&)>& edit);
  Result<std::optional<WorkItem>> claim_from_cache(const std::string& agent_id, Seconds lease);
  Result<bool> try_claim(Candidate& c, const std::string& agent_id, Seconds lease,
                         std::optional<WorkItem>& out);
  std::string key(std::string_view dir, std::string_view id) const;
  void saw(std::int64_t revision);

  std::shared_ptr<etcd::Client> client_;
  std::string prefix_;
  StoreConfig cfg_;
  SystemClock system_clock_;
  const Clock* clock_;                 // never null
  std::vector<Candidate> candidates_;  // pending at the last listing, best first
  std::chrono::steady_clock::time_point listed_at_{};
  std::chrono::milliseconds candidate_max_age_{2000};
  std::size_t claim_spread_ = 8;
  std::minstd_rand rng_;
  std::int64_t last_revision_ = 0;  // the newest revision read or written
};

}  // namespace dslmodel::store

// EtcdStore: the coordination state in etcd (store/etcd_keys.h) as a CoordinationStore, with the
// same records, repairs and inverses as DirStore.
//
// snapshot() reads agents, work, completed and telemetry records at one etcd revision, so it is
// consistent across kinds. apply() and undo() change the state with etcd transactions: each
// action reads its records, computes the new ones and commits them in ONE transaction that
// compares the records' mod_revision with the ones read (and compares absent every key it
// creates), so a record changed by an agent meanwhile is re-read and the action re-checked (a few
// times), or skipped with a note when its precondition no longer holds. A move (work → dead,
// completed → archive) deletes the old key and puts the new one in the same transaction: a
// record is never in both places, nor in neither. Archiving updates P/state/totals in the same
// transaction as the move, so archived records keep counting exactly.
//
// Fencing: with set_fencing_epoch(E), E > 0, every transaction of apply() and undo() also
// compares create_revision(P/leader) == E. Once leadership is lost (the key deleted or created
// again by another leader), apply() and undo() fail with kConflict "fenced: leadership lost
// (epoch E)" and write nothing more.
//
// Errors: kUnavailable (or kTimeout) when etcd cannot be reached. A transaction that times out
// may still have committed; its action is reported in a note as of unknown outcome.
// Thread-safety: an instance is used by one thread at a time. Any number of instances, queues
// and processes may share the same etcd and prefix (the client itself is thread-safe).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dslmodel/clock.h"
#include "dslmodel/config.h"
#include "dslmodel/store.h"

namespace dslmodel::etcd {
class Client;
}

namespace dslmodel::store {

class EtcdStore final : public CoordinationStore {
 public:
  // `prefix` as in etcd_keys.h (e.g. "/dslmodel"); `url` is what describe() and Snapshot::source
  // report. `clock` stamps requeued_at, dead_at and created; nullptr means the system clock; when
  // given it must outlive the store. REQUIRES: client is not null. Does no I/O.
  EtcdStore(std::shared_ptr<etcd::Client> client, std::string prefix, StoreConfig cfg = {},
            std::string url = "", const Clock* clock = nullptr);

  // Every record under P/agent/, P/work/, P/completed/ and P/telemetry/ at one revision (read in
  // pages of 2000 keys), sorted by file name, and the archived totals from P/state/totals.
  // Values over cfg.max_file_size or that the record parsers reject are listed in `rejected`
  // (sorted by name) with the reason; keys that name no record are ignored. Fails with
  // kUnavailable when etcd cannot be reached.
  Result<Snapshot> snapshot() override;

  // The same actions, preconditions and notes as DirStore::apply, one transaction per action:
  //   requeue      P/work/<id> claimed (by expect_claimed_by when set) → pending, attempts + 1,
  //                requeued_at, requeue_reason. Inverse {"op":"restore","file","content",
  //                "applied"}.
  //   dead_letter  P/work/<id> (not finished) → P/dead/<id> with status "dead", dead_reason,
  //                dead_at; skipped when P/dead/<id> exists. Inverse {"op":"undead","file",
  //                "dead_file","content"}.
  //   retry_failed a retryable failed P/completed/<id> → new pending P/work/<id> (skipped when it
  //                exists), the record moves to P/archive/retried/. Inverse {"op":"unretry",
  //                "file","archived","work_file","work_content"}.
  //   archive      P/completed/<id> or P/telemetry/<id> → P/archive/completed|telemetry/, its
  //                counts added to P/state/totals. Inverse {"op":"unarchive","file","archived"}.
  //   finalize     a claimed P/work/<id> whose completion exists → P/archive/done/. Inverse
  //                {"op":"unfinalize","file","archived"}.
  // Archive names are the directory's: archive/<sub>/<file>, or <stem>.<n>.json when taken.
  // Fails with kUnavailable when etcd cannot be reached before anything was applied (later, the
  // remaining actions are skipped with a note), kConflict when fenced.
  Result<RepairOutcome> apply(const std::vector<RepairAction>& actions) override;

  // Replays an inverse of apply(), newest element first, each step one transaction. A step
  // already undone is a no-op; a step whose records changed since is left alone: kConflict
  // "not undone: ..." naming them after every other step was done. kInvalidArgument when
  // `inverse` is not an array; kUnavailable when etcd cannot be reached; kConflict "fenced: ..."
  // when fenced.
  Status undo(const nlohmann::json& inverse) override;

  void set_fencing_epoch(std::int64_t epoch) override { epoch_ = epoch; }

  // "": the etcd store keeps no local state (the engine journals to etcd).
  std::string state_dir() const override { return ""; }
  // The URL given at construction.
  std::string describe() const override { return url_; }

  const std::string& prefix() const { return prefix_; }

 private:
  Status check_fencing();

  std::shared_ptr<etcd::Client> client_;
  std::string prefix_;
  StoreConfig cfg_;
  std::string url_;
  SystemClock system_clock_;
  const Clock* clock_;  // never null
  std::int64_t epoch_ = 0;
};

}  // namespace dslmodel::store

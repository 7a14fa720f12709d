// LockFileElector: leader election among engine replicas on one host, by an flock(2) on
// <state_dir>/leader.lock (docs/architecture.md, docs/policy.md).
//
// A background thread tries LOCK_EX|LOCK_NB on the lock file every `poll` while follower. The
// replica that gets the lock reads the previous epoch from <state_dir>/leader.json (0 when absent),
// writes {"id","host","pid","epoch":previous+1,"since"} there atomically and only then becomes
// leader with that epoch. Followers read leader.json to say who holds the lock. The kernel drops
// the lock when the holder's process dies (even by kill -9), so a follower takes over within one
// poll. The lock descriptor is close-on-exec: children the leader spawns never hold the lock.
//
// While leader the thread checks every poll that the lock file was not replaced and that
// leader.json still names this epoch; when either fails, it releases the lock and becomes a
// follower (and campaigns again with a new epoch).
//
// Errors (the state directory cannot be created, the lock file opened, leader.json written) are
// never fatal: the replica stays follower, says why in Leadership::detail and retries each poll.
//
// Thread-safety: every method may be called from any thread. The on_change callback runs on the
// elector's thread; it must not call resign() or destroy the elector.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>

#include "dslmodel/leader.h"
#include "dslmodel/status.h"

namespace dslmodel::ha {

class LockFileElector final : public LeaderElector {
 public:
  // Starts campaigning at once (the directory is created when missing). Does not block.
  LockFileElector(std::filesystem::path state_dir, std::string id,
                  std::chrono::milliseconds poll = std::chrono::milliseconds(100));
  // Resigns.
  ~LockFileElector() override;

  // The state as of the last poll; never blocks on I/O.
  Leadership current() const override;

  // Ok iff this replica holds the lock, its epoch is `epoch`, the lock file is the one locked and
  // leader.json still says `epoch` (and this id). kConflict otherwise. Reads leader.json.
  Status confirm(std::int64_t epoch) override;

  void on_change(std::function<void()> callback) override;

  // Unlocks and closes the lock file, stops the thread; the replica is follower from then on.
  // Idempotent. Blocks until the thread has stopped. Does not call the on_change callback.
  void resign() override;

  std::string id() const override { return id_; }

  const std::filesystem::path& lock_path() const { return lock_path_; }
  const std::filesystem::path& info_path() const { return info_path_; }

 private:
  void run(const std::stop_token& stop);
  void try_acquire();
  void check_still_leader();
  void release(const std::string& why);
  void notify_if_changed();

  const std::filesystem::path dir_;
  const std::filesystem::path lock_path_;  // <dir>/leader.lock
  const std::filesystem::path info_path_;  // <dir>/leader.json
  const std::string id_;
  const std::chrono::milliseconds poll_;

  // Owned by the elector thread (by resign() once the thread has stopped).
  int fd_ = -1;                     // the locked file while leader, else -1
  std::int64_t highest_epoch_ = 0;  // the largest epoch seen in leader.json
  bool notified_leader_ = false;    // the state the callback was last told about
  std::int64_t notified_epoch_ = 0;

  std::mutex resign_mu_;  // serializes resign() calls
  mutable std::mutex mu_;
  std::condition_variable_any cv_;
  bool leader_ = false;                 // guarded by mu_
  std::int64_t epoch_ = 0;              // guarded by mu_
  std::string holder_;                  // guarded by mu_
  std::string detail_ = "campaigning";  // guarded by mu_
  dev_t lock_dev_ = 0;                  // guarded by mu_; the locked file's identity
  ino_t lock_ino_ = 0;                  // guarded by mu_
  std::function<void()> callback_;      // guarded by mu_

  std::jthread thread_;  // last: started after everything above exists
};

}  // namespace dslmodel::ha

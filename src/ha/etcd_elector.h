// EtcdElector: leader election among engine replicas on many hosts, by a key bound to an etcd
// lease (docs/architecture.md, docs/policy.md).
//
// Keys: P/leader (P = prefix) holds {"id","host","pid","since"} of the leader and is attached to
// the leader's lease, so it disappears when the lease expires or is revoked. The epoch is that
// key's create_revision: it grows with every election, and writers fence on it with
// Compare::create_revision(P/leader, kEqual, epoch).
//
// A background thread holds a lease of `ttl` (renewed every ttl/3; a lease found expired is
// replaced by a new one) and, while follower, campaigns every `retry` with one transaction:
// "if P/leader is absent, put it with our lease". A key already carrying our lease (leadership
// that survived an etcd restart) makes us leader with its create_revision. While leader, the
// thread checks every `retry` that the key is still ours, and steps down when it is not.
//
// Local lease deadline: the time each successful grant or renewal was sent, plus ttl minus a
// margin (max(ttl/5, 200 ms)). current() reports leader only before that deadline, whatever the
// thread is doing: a process paused (SIGSTOP) or cut off from etcd past its lease says
// not-leader as soon as it runs again, before any round trip, and its confirm() fails. etcd counts
// the lease from when it receives a renewal, which is later than when it was sent, so the local
// deadline always passes before etcd lets another replica win.
//
// etcd unreachable: the thread keeps trying every `retry` (never a busy loop, never an exception);
// a leader becomes not-leader when its deadline passes; detail says "etcd unreachable: <why>".
//
// Thread-safety: every method may be called from any thread. The on_change callback runs on one
// of the elector's threads (never two calls at once); it must not call resign() or destroy the
// elector.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>

#include "dslmodel/leader.h"
#include "dslmodel/status.h"
#include "etcd/client.h"

namespace dslmodel::ha {

class EtcdElector final : public LeaderElector {
 public:
  // Starts campaigning at once under `prefix` (e.g. "/dslmodel"; a trailing '/' is ignored).
  // REQUIRES: client non-null. `ttl` is raised to 1 s at least; etcd grants no lease under about
  // 2 s, which only makes the local deadline (computed from `ttl`) more cautious. Does not block.
  EtcdElector(std::shared_ptr<etcd::Client> client, std::string prefix, std::string id,
              std::chrono::seconds ttl,
              std::chrono::milliseconds retry = std::chrono::milliseconds(250));
  // Resigns.
  ~EtcdElector() override;

  // The state as last known; never blocks on I/O. Leader only before the local lease deadline.
  Leadership current() const override;

  // kConflict at once when not leader, past the local deadline or `epoch` is not ours; else one
  // transaction checks that P/leader still has create_revision `epoch` and our lease: ok when it
  // does, kConflict when not (and the replica steps down), kUnavailable when etcd cannot be
  // reached. Blocks for that round trip.
  Status confirm(std::int64_t epoch) override;

  void on_change(std::function<void()> callback) override;

  // Stops the threads, then revokes the lease, which deletes P/leader at once so another replica
  // takes over without waiting for the TTL (when etcd is unreachable the lease simply expires).
  // Idempotent. Blocks for the revoke. Does not call the on_change callback.
  void resign() override;

  std::string id() const override { return id_; }

  std::chrono::seconds lease_ttl() const { return ttl_; }
  const std::string& leader_key() const { return key_; }

  // The lease held now (0 when none).
  std::int64_t lease_id() const;

  // Test hook that simulates a paused process: while paused the thread neither renews the lease
  // nor campaigns (current() and confirm() keep working on the local deadline).
  void pause_for_testing(bool paused);

 private:
  using SteadyClock = std::chrono::steady_clock;

  void run(const std::stop_token& stop);
  void watch_deadline(const std::stop_token& stop);
  // One round of the loop; returns when the thread should run next.
  SteadyClock::time_point step();
  // Grants or renews the lease when due; true while the lease is live by the local deadline.
  bool keep_lease();
  void campaign();
  void verify();
  // Whether P/leader still has create_revision `epoch` and `lease`; when not, *holder is set to
  // the id in the key (if any).
  Result<bool> key_is_ours(std::int64_t epoch, std::int64_t lease, std::string* holder);
  void step_down_locked(const std::string& why);
  void set_unreachable(const Status& s);
  bool leading_locked(SteadyClock::time_point now) const;
  SteadyClock::time_point deadline_locked() const;
  void notify_if_changed();

  const std::shared_ptr<etcd::Client> client_;
  const std::string key_;  // P/leader
  const std::string id_;
  const std::chrono::seconds ttl_;
  const std::chrono::milliseconds retry_;
  const std::chrono::milliseconds margin_;  // max(ttl/5, 200 ms)

  std::mutex resign_mu_;  // serializes resign() calls
  std::mutex notify_mu_;  // serializes callback calls; guards notified_*
  std::atomic<bool> notify_pending_{false};
  bool notified_leader_ = false;
  std::int64_t notified_epoch_ = 0;

  mutable std::mutex mu_;
  std::condition_variable_any cv_;          // the campaign thread sleeps here
  std::condition_variable_any watch_cv_;    // the watchdog sleeps here until changes_ moves
  std::uint64_t changes_ = 0;               // guarded by mu_; bumped when the deadline may move
  std::int64_t lease_ = 0;                  // guarded by mu_; 0: none
  SteadyClock::time_point lease_sent_{};    // guarded by mu_; last good grant/renewal sent
  SteadyClock::time_point next_renewal_{};  // guarded by mu_
  bool leader_ = false;                     // guarded by mu_; won and not lost (see deadline)
  std::int64_t epoch_ = 0;                  // guarded by mu_
  std::string holder_;                      // guarded by mu_
  std::string detail_ = "campaigning";      // guarded by mu_
  std::string unreachable_;                 // guarded by mu_; last etcd error, "" when fine
  bool paused_ = false;                     // guarded by mu_
  bool resigned_ = false;                   // guarded by mu_
  std::function<void()> callback_;          // guarded by mu_

  std::jthread watchdog_;  // wakes at the lease deadline to call the callback
  std::jthread thread_;    // last: started after everything above exists
};

}  // namespace dslmodel::ha

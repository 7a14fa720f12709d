// EtcdPool: the shared state of agent pools on several hosts, under a store prefix P in etcd.
//
// The leader engine writes how many agents the swarm should run; each host's `dsl agent pool`
// registers itself and runs its share of that count. Keys:
//   P/pool/desired        {"target":N,"epoch":E,"decision_id":"..","updated":ISO}
//   P/pool/member/<id>    {"id","host","pid","running":n,"agents":[ids],"share":n,"updated":ISO},
//                         written with the pool's lease: a pool that dies (or stops renewing)
//                         disappears once its lease runs out, or at once when it revokes it.
//   P/leader              the leader election key; its create_revision is the leader epoch.
// Readers ignore unknown fields; a record that cannot be parsed is skipped (members()) or reported
// as kCorrupt (desired()).
//
// Errors: those of the etcd client (kUnavailable when etcd cannot be reached, kTimeout, kCorrupt,
// kInvalidArgument), plus kConflict for a fenced write by an ex-leader.
// Thread-safety: an EtcdPool holds no mutable state; it may be used from any number of threads as
// long as the client and the clock outlive it.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "dslmodel/clock.h"
#include "dslmodel/status.h"
#include "etcd/client.h"

namespace dslmodel::store {

// P/pool/desired.
struct DesiredAgents {
  int target = 0;
  std::int64_t epoch = 0;  // the leader epoch that wrote it (0: unfenced)
  std::string decision_id;
  std::string updated;  // ISO-8601
};

// P/pool/member/<id>.
struct PoolMember {
  std::string id;
  std::string host;
  std::int64_t pid = 0;
  int running = 0;                  // live agents the pool supervises
  std::vector<std::string> agents;  // their ids
  int share = 0;                    // what the pool is trying to run
  std::string updated;              // ISO-8601; announce() stamps it
};

class EtcdPool {
 public:
  // `prefix` is the store prefix P ("/dslmodel"), as etcd::parse_store_url gives it.
  // REQUIRES: `client` and `clock` outlive the pool. Touches nothing.
  EtcdPool(etcd::Client& client, std::string prefix, const Clock& clock);
  EtcdPool(const EtcdPool&) = delete;
  EtcdPool& operator=(const EtcdPool&) = delete;

  // The desired count, or nullopt when none was ever set. kCorrupt when the record is not a JSON
  // object with an integer "target" >= 0.
  Result<std::optional<DesiredAgents>> desired();

  // Sets the desired count to `target` and returns the previous one (nullopt when none, or when
  // the old record could not be parsed). With epoch > 0 the write is one transaction that also
  // requires create_revision(P/leader) == epoch; when that no longer holds it writes nothing and
  // fails with kConflict "fenced: leadership lost (epoch N)". kInvalidArgument for target < 0.
  Result<std::optional<int>> set_desired(int target, std::int64_t epoch,
                                         const std::string& decision_id);

  // Removes the desired count (pools then run no agents); returns the previous one. Unfenced.
  Result<std::optional<int>> clear_desired();

  // Writes P/pool/member/<member.id> with `lease_id` (0: no lease), stamping "updated".
  // kInvalidArgument when the id is empty or holds '/'.
  Status announce(const PoolMember& member, std::int64_t lease_id);

  // Deletes P/pool/member/<id> (a pool leaving without revoking its lease).
  Status withdraw(const std::string& id);

  // The registered pools, sorted by id. Records that cannot be parsed are skipped.
  Result<std::vector<PoolMember>> members();

  // "P/pool/": every key above but the leader's starts with it (for watches).
  std::string pool_prefix() const;
  std::string desired_key() const;
  std::string member_key(const std::string& id) const;
  std::string leader_key() const;

 private:
  etcd::Client& client_;
  const std::string prefix_;
  const Clock& clock_;
};

// A pool's lease, under which it announces itself: granted on demand, renewed by keep() on a
// thread of the caller's (so that a long scale never lets it lapse), forgotten once etcd says it
// expired, so that the next get() grants a new one.
// Thread-safety: every method may be called from any thread.
class PoolLease {
 public:
  // REQUIRES: `client` outlives the lease; ttl >= 1 s. Touches nothing.
  PoolLease(etcd::Client& client, std::chrono::seconds ttl);
  PoolLease(const PoolLease&) = delete;
  PoolLease& operator=(const PoolLease&) = delete;

  // The lease id, granting one when there is none. `*fresh` (when given) is set when it was
  // granted now: records written under an earlier lease are gone. Fails as lease_grant.
  Result<std::int64_t> get(bool* fresh = nullptr);

  // Renews the lease once; forgets it when etcd no longer knows it. Fails as lease_keepalive
  // (kNotFound for an expired lease); ok when there is no lease.
  Status renew();

  // Renews every ttl/3 until `stop` is requested. Blocks; errors are left to the next get().
  void keep(const std::stop_token& stop);

  // Revokes the lease (its keys vanish at once) and forgets it. Ok when there is none.
  Status revoke();

  std::chrono::seconds ttl() const { return ttl_; }

 private:
  etcd::Client& client_;
  const std::chrono::seconds ttl_;
  std::atomic<std::int64_t> id_{0};  // 0: none
};

// A pool's share of `target` agents among the pools `member_ids`: with the ids sorted (and
// duplicates counted once), each of the n pools gets target / n, and the first target % n get one
// more. 0 when `me` is not a member or target <= 0. Pure.
int share_of(int target, std::vector<std::string> member_ids, const std::string& me);

}  // namespace dslmodel::store

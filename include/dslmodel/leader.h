// LeaderElector: which of several engine replicas may act (docs/architecture.md, docs/policy.md).
//
// Exactly one replica is leader at a time; only the leader gates and executes, the others
// measure and serve metrics. Each time leadership is won it gets a new, larger epoch. Fencing:
// the engine carries its epoch on every actuation and journal write and asks confirm(epoch)
// first; once leadership is lost (a lease expired while the process was paused or partitioned)
// confirm fails, so an ex-leader can never act.
//
// Implementations campaign in the background from construction until resign() or destruction.
// Every method is safe to call from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "dslmodel/status.h"

namespace dslmodel {

struct Leadership {
  bool is_leader = false;
  std::int64_t epoch = 0;  // this replica's epoch while leader; 0 otherwise
  std::string holder;      // the current leader's id when known ("" when none or unknown)
  std::string detail;      // why not leader, for humans ("etcd unreachable", "held by x")
};

class LeaderElector {
 public:
  LeaderElector() = default;
  LeaderElector(const LeaderElector&) = delete;
  LeaderElector& operator=(const LeaderElector&) = delete;
  virtual ~LeaderElector() = default;

  // The state as last known, without blocking on I/O. A leader whose lease may have run out
  // (no renewal confirmed within the lease time) reports not-leader.
  virtual Leadership current() const = 0;

  // Fencing check right before acting: ok only when this replica is leader with `epoch` now.
  // kConflict when leadership was lost or moved, kUnavailable when it cannot be confirmed.
  virtual Status confirm(std::int64_t epoch) = 0;

  // Called (from the elector's thread) whenever current() changes. Set once, before use.
  virtual void on_change(std::function<void()> callback) = 0;

  // Gives leadership up at once (releases the lock or revokes the lease) and stops campaigning.
  virtual void resign() = 0;

  // This replica's id.
  virtual std::string id() const = 0;
};

}  // namespace dslmodel

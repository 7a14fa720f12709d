// PoolActuator: scales a swarm spread over several hosts by writing the desired agent count into
// etcd (P/pool/desired, see store/etcd_pool.h); the `dsl agent pool` running on each host starts
// and stops its share of the agents.
//
// scale() needs at least one registered pool, writes the count (fenced by the request's leader
// epoch), then waits until the pools' running agents add up to the target or the timeout passes.
// Pools that have not caught up by then are not a failure: they converge on their own.
//
// Errors: kUnavailable when etcd cannot be reached or no pool is running, kConflict when the
// leader epoch is no longer the leader's (nothing is written), kInvalidArgument for a bad inverse.
// Thread-safety: used from one thread at a time, like every Actuator.
#pragma once

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "dslmodel/actuator.h"
#include "dslmodel/clock.h"
#include "dslmodel/status.h"

namespace dslmodel {

namespace etcd {
class Client;
}
namespace store {
class EtcdPool;
}

namespace actuate {

class PoolActuator final : public Actuator {
 public:
  struct Options {
    std::chrono::milliseconds timeout{30000};  // how long scale() waits for the pools
    std::chrono::milliseconds poll{100};       // between reads of the pools' records
  };

  // For the store at `store_url` ("etcd://host:port[,...]/prefix"), through `client` when given
  // (the one the store, journal and elector of that URL share), else a client of its own.
  // Connects lazily: nothing is read until scale(). kInvalidArgument when the URL is not an etcd
  // URL. REQUIRES: `clock` outlives the actuator.
  static Result<std::unique_ptr<PoolActuator>> create(
      const std::string& store_url, Options options, const Clock& clock,
      std::shared_ptr<etcd::Client> client = nullptr);
  ~PoolActuator() override;

  // Sets P/pool/desired to request.target_agents (fenced by request.epoch when > 0) and waits
  // for the pools. Summary "desired agents set to N: M running on K pool(s)"; output one line per
  // pool; inverse {"kind":"pool","pool_previous_target":prev|null,"target":N}.
  Result<ActuationResult> scale(const ScaleRequest& request) override;

  // Puts the previous desired count back (unfenced; a null previous clears the count) and waits
  // for the pools like scale(). Its inverse undoes the undo.
  Result<ActuationResult> undo(const nlohmann::json& inverse) override;

  // "pool".
  std::string name() const override;

 private:
  PoolActuator(std::shared_ptr<etcd::Client> client, const std::string& prefix, Options options,
               const Clock& clock);

  // Waits until the members' running agents add up to `target` or the timeout passes, and
  // describes where they stand.
  ActuationResult converge(const std::string& verb, int target);

  const Options options_;
  const Clock& clock_;
  std::shared_ptr<etcd::Client> client_;
  std::unique_ptr<store::EtcdPool> pool_;
};

}  // namespace actuate
}  // namespace dslmodel

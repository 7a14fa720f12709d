// `dsl agent pool`: one host's share of a swarm spread over several hosts.
//
// The leader engine (actuator.kind "pool") writes the desired agent count into etcd; every host
// runs one pool, which registers itself under a lease, computes its share of the count among the
// registered pools (store::share_of), and starts or stops agents with the process supervisor
// until it runs exactly that many, replacing agents that die. On SIGINT/SIGTERM it stops its
// agents and revokes its lease, so the other pools take over its share at once; a pool that dies
// without doing so drops out when its lease runs out. While etcd cannot be reached it keeps its
// agents as they are and retries.
//
// run_pool returns an exit code: 0 after a clean stop, 1 when the supervisor cannot be set up,
// 2 bad usage (no etcd store, bad flag). Not thread-safe: one pool per process.
#pragma once

#include <optional>
#include <string>

#include "app/commands.h"

namespace CLI {
class App;
}

namespace dslmodel::app {

struct PoolArgs {
  std::string id;                 // default "<hostname>-<pid>"
  std::string state_dir;          // default $XDG_STATE_HOME/dslmodel/pool-<id>
                                  // (else ~/.local/state/dslmodel/pool-<id>)
  double interval_s = 1;          // seconds between checks (a change in etcd wakes it earlier)
  std::optional<int> max_agents;  // never run more agents than this, whatever the share
};

// Adds `pool` under the `agent` group, parsing into `args`.
void add_pool_command(CLI::App& agent_group, PoolArgs& args);

// Runs the pool until SIGINT/SIGTERM. Store: ctx.config.store.url (--store, DSLMODEL_STORE).
int run_pool(const Context& ctx, const PoolArgs& args);

}  // namespace dslmodel::app

// PoolRunner: one host's share of a swarm spread over several hosts (`dsl agent pool`).
//
// The leader engine (actuator.kind "pool") writes the desired agent count into etcd; every host
// runs one pool, which registers itself under a lease, computes its share of the count among the
// registered pools (store::share_of), and starts or stops agents with the process supervisor
// until it runs exactly that many, replacing agents that die. On stop it stops its agents and
// revokes its lease, so the other pools take over its share at once; a pool that dies without
// doing so drops out when its lease runs out. While etcd cannot be reached it keeps its agents as
// they are and retries.
//
// What it does is told to a PoolReporter (the CLI prints it); the runner writes no output itself.
// Threads: run() keeps the lease on one thread and watches P/pool/ on another, which wakes the
// loop early when the desired count or another pool changes; everything else (reads, scaling,
// announcements, reports) runs on the calling thread. One runner per process.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "actuate/process_supervisor.h"
#include "dslmodel/clock.h"
#include "dslmodel/status.h"
#include "etcd/client.h"

namespace dslmodel::pool {

// Everything the flags and the configuration decide.
struct PoolRunnerConfig {
  std::string id;                          // unique among the hosts; prefixes its agents' ids
  std::string host;                        // announced with the member record
  std::string url;                         // the store URL, passed to the agents
  etcd::StoreUrl store;                    // url, parsed
  std::filesystem::path state_dir;         // supervisor.json and the agents' logs
  std::chrono::milliseconds period{1000};  // between ticks (a change in etcd wakes it earlier)
  std::chrono::seconds lease_ttl{10};
  int max_agents = std::numeric_limits<int>::max();
  std::vector<std::string> agent_command;  // the agents' argv ({agent_id} expanded per agent)
  std::chrono::milliseconds grace{5000};   // SIGTERM → SIGKILL when stopping agents
  bool replace_dead = true;
};

// What one tick found, reported when share or running count change.
struct PoolReport {
  std::optional<int> desired;  // nullopt: no desired count set yet
  int share = 0;
  int pools = 0;                    // registered pools, this one included
  std::vector<std::string> agents;  // the live agents' ids
};

// What a stop did.
struct PoolStopReport {
  std::size_t stopped_agents = 0;
  actuate::SupervisorStats stats;
  std::optional<Status> revoke_error;  // set when the lease could not be revoked
  std::optional<Status> stop_error;    // set when an agent could not be stopped
};

// Receives what the runner does; called on run()'s thread.
class PoolReporter {
 public:
  virtual ~PoolReporter() = default;
  virtual void report(const PoolReport& report) = 0;
  // A scale to `share` failed (said once until the error changes).
  virtual void scale_failed(int share, const std::string& error) = 0;
  // etcd cannot be used (said once per kind of failure); `running` agents keep running.
  virtual void trouble(const Status& s, bool unreachable, std::size_t running) = 0;
  virtual void recovered() = 0;
  virtual void stopped(const PoolStopReport& report) = 0;
};

class PoolRunner {
 public:
  // Creates the state directory and the supervisor (which adopts the agents its state file
  // names). kIo when the state directory cannot be made; the supervisor's errors otherwise
  // (kInvalidArgument for a bad agent command). REQUIRES: reporter and clock outlive the runner.
  static Result<std::unique_ptr<PoolRunner>> create(PoolRunnerConfig config, PoolReporter& reporter,
                                                    const Clock& clock);
  ~PoolRunner();
  PoolRunner(const PoolRunner&) = delete;
  PoolRunner& operator=(const PoolRunner&) = delete;

  // Runs until `stop` is requested, then stops every agent and revokes the lease.
  void run(const std::stop_token& stop);

 private:
  class Impl;
  explicit PoolRunner(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace dslmodel::pool

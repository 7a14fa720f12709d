// ProcessActuator: scales the swarm by starting and stopping agent processes on this machine, and
// keeps the ones it started alive.
//
// Agents are started from an argv template (never through a shell), each in its own session, with
// stdout and stderr appended to <coordination dir>/.dsl/logs/<agent id>.log. Every agent is
// recorded (id, pid, /proc start time, started_at, decision id) in the state file, written
// atomically after every change: it is the source of truth across restarts. create() adopts the
// recorded agents that are still the same process; a record whose pid is gone or now names another
// process (different start time) is dropped, and such a pid is never signalled. Signals go through
// a pidfd where the kernel has one, so they only ever reach the verified process. Stopping an agent
// sends SIGTERM to it and to its process group (the session it leads), waits up to the grace, then
// sends SIGKILL to both.
//
// A monitor thread (one std::jthread, every kMonitorPeriod) notices supervised agents that exited
// without being asked to, removes them from the state and, with replace_dead, starts a replacement
// after a backoff: backoff_initial, doubled for each consecutive death of that slot, capped at
// backoff_max, and reset once an agent of the slot stayed up kStableUptime. A replacement inherits
// the slot of the agent it replaces, so undoing a scale-up also stops the replacements of the
// agents it started.
//
// Destroying the actuator stops the monitor but leaves the agents running: a later supervisor on
// the same state file adopts them. stop_all() is the explicit shutdown.
//
// Thread-safety: every public method may be called from any thread. scale(), undo() and stop_all()
// are serialized among themselves (op_mu_); the agent table and counters are guarded by mu_, shared
// with the monitor thread. scale() and undo() block the caller (a scale-down up to the grace
// period plus kKillWait); agents() and stats() block only while a spawn or a state write holds mu_.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "actuate/proc_info.h"
#include "actuate/supervisor_state.h"
#include "dslmodel/actuator.h"
#include "dslmodel/clock.h"
#include "dslmodel/status.h"

namespace dslmodel::actuate {

struct SupervisorConfig {
  // The agent's argv. Placeholders inside any argument: {agent_id} {coordination_dir}. The caller
  // sets the default: [<dsl exe>, "agent", "run", "-c", "{coordination_dir}", "--id",
  // "{agent_id}"].
  std::vector<std::string> agent_command;
  std::string coordination_dir;
  // Where agents are recorded; empty means <coordination_dir>/.dsl/supervisor.json.
  std::filesystem::path state_file;
  std::chrono::milliseconds grace{10000};           // SIGTERM, then SIGKILL after this long
  std::chrono::milliseconds backoff_initial{1000};  // before replacing a dead agent
  std::chrono::milliseconds backoff_max{60000};
  bool replace_dead = true;         // false: a dead agent is only reaped and forgotten
  std::string id_prefix = "agent";  // agent ids are <prefix>-<unix_ms>-<n>
};

struct SupervisedAgent {
  std::string id;
  pid_t pid = 0;
  TimePoint started_at{};
  bool adopted = false;  // recorded by an earlier supervisor, found still running at create()
  std::string decision_id;
};

struct SupervisorStats {
  std::uint64_t started = 0;             // agents spawned (scale, undo and replacements)
  std::uint64_t stopped = 0;             // agents stopped on request
  std::uint64_t killed = 0;              // of those, the ones that needed SIGKILL after the grace
  std::uint64_t deaths = 0;              // agents that exited without being asked to
  std::uint64_t replacements = 0;        // agents started in place of a dead one
  std::uint64_t adopted = 0;             // agents taken over from the state file by create()
  std::uint64_t stale_records = 0;       // records dropped by create(): gone, exited, or pid reused
  std::uint64_t spawn_errors = 0;        // replacements that could not be started (retried later)
  std::uint64_t state_write_errors = 0;  // failed writes of the state file (retried later)
  bool state_file_corrupt = false;       // create() found it unreadable, moved it to <file>.corrupt
};

class ProcessActuator final : public Actuator {
 public:
  static constexpr std::chrono::milliseconds kMonitorPeriod{200};
  static constexpr std::chrono::seconds kStableUptime{60};
  // After SIGKILL, how long a stop waits for the kernel to end the process.
  static constexpr std::chrono::milliseconds kKillWait{5000};

  // Validates the config, loads the state file, adopts the recorded agents that are still the
  // same process (dropping the rest and rewriting the file), and starts the monitor thread.
  // Fails with kInvalidArgument when agent_command or its program is empty, an argument holds an
  // unknown {placeholder}, id_prefix is empty or holds a character other than letters, digits,
  // '-', '_', '.', coordination_dir is empty, or a duration is negative. An unreadable
  // state file is not an error: it is moved aside and counted (stats().state_file_corrupt).
  // REQUIRES: `clock` outlives the actuator.
  static Result<std::unique_ptr<ProcessActuator>> create(SupervisorConfig config,
                                                         const Clock& clock);

  // Stops and joins the monitor thread. Does not signal any agent.
  ~ProcessActuator() override;

  // Makes the number of live supervised agents request.target_agents (request.current_agents is
  // only quoted in messages). Up: starts the missing agents; summary "started N agents (ids)",
  // output one "id pid N" line each, inverse {"kind":"process","started":[ids]}. Down: stops the
  // surplus, chosen in request.stop_preference order (unknown ids skipped), then newest first;
  // SIGTERM, SIGKILL after the grace; summary "stopped N agents (ids)", inverse
  // {"kind":"process","stopped":N}. Cancels pending replacements either way. Fails with
  // kInvalidArgument for a negative target, kUnavailable when an agent cannot be started, kIo
  // when the state file cannot be written after a scale-up; a failed scale-up stops the agents it
  // had started. A scale-down whose state write fails still succeeds (its agents are gone); the
  // output says so and the monitor retries the write.
  Result<ActuationResult> scale(const ScaleRequest& request) override;

  // {"kind":"process","started":[ids]}: stops those agents (and the replacements in their slots)
  // that are still live, never any other; inverse {"kind":"process","stopped":N}.
  // {"kind":"process","stopped":N}: starts N agents; inverse {"kind":"process","started":[ids]}.
  // Fails with kInvalidArgument for any other inverse, else as scale().
  Result<ActuationResult> undo(const nlohmann::json& inverse) override;

  // "process".
  std::string name() const override;

  // Stops every supervised agent (SIGTERM, SIGKILL after `grace`) and cancels pending
  // replacements. Blocks. Fails with kIo when the state file cannot be written.
  Status stop_all(std::chrono::milliseconds grace);

  // The live supervised agents (not those being stopped), oldest first.
  std::vector<SupervisedAgent> agents() const;

  SupervisorStats stats() const;

  // Replacements waiting for their backoff to pass.
  std::size_t pending_replacements() const;

  const std::filesystem::path& state_file() const { return config_.state_file; }

 private:
  struct Agent {
    SupervisorEntry record;
    ProcessHandle process;
    std::chrono::steady_clock::time_point started_steady;
    bool adopted = false;
    bool stopping = false;  // a stop owns it: the monitor leaves it alone
  };
  struct Pending {
    std::chrono::steady_clock::time_point due;
    std::string slot;
    std::string decision_id;
    int deaths = 0;
  };
  // An agent claimed by a stop: its process handle moved out of the table.
  struct Victim {
    std::string id;
    ProcessHandle process;
    bool killed = false;  // needed SIGKILL
  };

  ProcessActuator(SupervisorConfig config, const Clock& clock);

  void adopt_records(DecodedState state);
  std::vector<std::string> expand(const std::string& agent_id) const;
  std::chrono::milliseconds backoff(int deaths) const;

  // All REQUIRES: mu_ held.
  std::string next_id_locked();
  Result<std::string> spawn_locked(const std::string& decision_id, const std::string& slot,
                                   int deaths);
  Status save_locked();
  int live_locked() const;
  std::vector<Victim> claim_locked(const std::vector<std::string>& ids);
  std::vector<std::string> pick_victims_locked(std::size_t count,
                                               const std::vector<std::string>& preference) const;
  ActuationResult describe_started_locked(const std::vector<std::string>& ids) const;
  void check_locked();
  bool reap_dead_locked();
  bool start_due_locked();
  std::chrono::milliseconds next_wait_locked() const;

  // REQUIRES: op_mu_ held and `lk` holding mu_; returns with mu_ released.
  Result<ActuationResult> start_agents(std::unique_lock<std::mutex>& lk, int count,
                                       const std::string& decision_id);
  // REQUIRES: op_mu_ held, mu_ not held.
  ActuationResult stop_victims(std::vector<Victim> victims, std::chrono::milliseconds grace);
  void terminate(std::vector<Victim>& victims, std::chrono::milliseconds grace) const;
  Status finish_stop(std::vector<Victim>& victims);

  void monitor(const std::stop_token& stop);

  const SupervisorConfig config_;
  const Clock& clock_;
  std::filesystem::path log_dir_;

  std::mutex op_mu_;  // serializes scale(), undo(), stop_all()

  mutable std::mutex mu_;
  std::condition_variable_any wake_;     // the monitor's sleep, ended by stop
  std::map<std::string, Agent> agents_;  // guarded by mu_
  std::vector<Pending> pending_;         // guarded by mu_
  std::vector<ProcessHandle> unreaped_;  // guarded by mu_: stopped but not yet exited
  bool dirty_ = false;                   // guarded by mu_: the state file needs rewriting
  SupervisorStats stats_;                // guarded by mu_
  std::uint64_t id_counter_ = 0;         // guarded by mu_

  std::jthread monitor_;  // last: started by create(), stopped first by the destructor
};

}  // namespace dslmodel::actuate

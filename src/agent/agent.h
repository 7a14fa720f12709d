// The reference agent (docs/agents.md): heartbeats into agent_<id>.json, claims one work item
// at a time, runs its `command` (argv, never a shell) or hands its `prompt` to a handler command
// on stdin, enforces the timeout, reports the outcome, writes one telemetry record per item, and
// on stop finishes or releases its item, marks itself stopped and returns.
//
// It talks to the coordination state only through the WorkQueue interface, always from the
// thread that calls run(); the item's process is supervised by a second thread so heartbeats
// go on while it runs. An Agent object is used by one thread; stop may be requested from any.
#pragma once

#include <chrono>
#include <cstdint>
#include <stop_token>
#include <string>
#include <vector>

#include "agent/child_runner.h"
#include "dslmodel/clock.h"
#include "dslmodel/config.h"
#include "dslmodel/telemetry.h"
#include "dslmodel/work_queue.h"

namespace dslmodel::agent {

struct AgentConfig {
  std::string id;    // REQUIRES: non-empty; names agent_<id>.json and the claims
  std::string host;  // written into the agent file
  std::chrono::milliseconds heartbeat_interval{5000};  // Seconds convert implicitly
  std::chrono::milliseconds poll_interval{200};  // wait between claims when nothing is pending
  Seconds lease{60};                             // claim lease beyond the item's timeout
  Seconds default_timeout{300};                  // for items without a timeout
  std::vector<std::string> prompt_handler;       // argv; gets the prompt on stdin; empty: none
  std::chrono::milliseconds grace{10000};        // on stop: the running item gets this long, then
                                                 // it is killed and released
  std::chrono::milliseconds kill_grace{2000};    // SIGTERM to SIGKILL, on timeout or stop
  std::int64_t max_items = 0;                    // stop after this many claims; 0 = unlimited
  bool exit_when_idle = false;                   // return once nothing is pending
  SpanExporter* spans = nullptr;  // when set, one swarmsh.agent.work_item span per item
};

// What one run() did. Every claimed item ends in exactly one of completed, failed, released or
// lost_claims, or (when the queue refused the report) store_errors.
struct AgentStats {
  std::int64_t claimed = 0;
  std::int64_t completed = 0;     // finished with success
  std::int64_t failed = 0;        // finished without success (to be retried or for good)
  std::int64_t retrying = 0;      // of `failed`: put back to pending by the queue
  std::int64_t released = 0;      // given back unfinished because of a stop
  std::int64_t lost_claims = 0;   // finish/release answered kConflict: someone requeued it
  std::int64_t store_errors = 0;  // queue calls that failed otherwise (claims, heartbeats, ...)
};

// The completed record's fixed error texts.
inline constexpr const char* kInvalidCommandError =
    "command must be an array of strings (argv), not run";
inline constexpr const char* kNoPromptHandlerError = "no prompt handler configured";
inline constexpr const char* kNoPayloadError = "work item has no command and no prompt, not run";

class Agent {
 public:
  // `queue` and `clock` must outlive the agent. The clock stamps `created` only; durations and
  // waits use the machine's steady clock because they bound real processes.
  Agent(WorkQueue& queue, AgentConfig cfg, const Clock& clock);
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  // Blocks until `stop` is requested, max_items items were claimed, or (exit_when_idle) nothing
  // is pending. Heartbeats "idle" at start, "busy" with current_work while an item runs,
  // "draining" while a stopped agent waits for its item, and "stopped" on return. Queue errors
  // are logged and counted, never fatal. Returns the counts.
  AgentStats run(const std::stop_token& stop);

  const AgentConfig& config() const { return cfg_; }

 private:
  struct RunResult;
  struct ChildWatch;

  bool should_claim(const std::stop_token& stop) const;
  void process(const WorkItem& item, const std::stop_token& stop);
  RunResult execute(const WorkItem& item, const std::stop_token& stop);
  RunResult supervise(const WorkItem& item, std::vector<std::string> argv, std::string input,
                      const std::stop_token& stop);
  // Heartbeats until the child is done ("busy", "draining" once stopped) and notes its processes
  // on the claim as soon as it runs. Returns the child's result.
  Result<ChildResult> watch_child(const WorkItem& item, ChildWatch& w, const std::stop_token& stop);
  void note_processes(const WorkItem& item, const StartedChild& child);
  void report(const WorkItem& item, const RunResult& outcome);
  void record(const WorkItem& item, const RunResult& outcome, const std::string& result);
  void export_span(const WorkItem& item, const RunResult& outcome, const std::string& result);
  void wait_idle(const std::stop_token& stop);
  void heartbeat(const std::string& status, const std::string& current_work = {});
  void heartbeat_if_due(const std::string& status, const std::string& current_work);

  WorkQueue& queue_;
  AgentConfig cfg_;
  const Clock& clock_;
  AgentStats stats_;
  TimePoint created_{};
  std::chrono::steady_clock::time_point next_heartbeat_{};
  std::uint64_t self_start_ = 0;  // this process's start time (/proc/self/stat), for claims
  std::int64_t sequence_ = 0;     // items processed, names telemetry records
  std::string last_status_;       // as last written to agent_<id>.json
  std::string last_work_;
  bool store_gone_ = false;  // a heartbeat found the coordination directory gone: stop
};

}  // namespace dslmodel::agent

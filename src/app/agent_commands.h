// `dsl agent run`: the reference agent (src/agent) over the coordination directory, until
// SIGTERM/SIGINT (or --max-items / --exit-when-idle). Returns an exit code (0 after a clean
// stop, 1 when the directory is missing, 2 bad usage). `dsl agent stop` stops supervised agents;
// `dsl agent pool` runs this host's share of a multi-host swarm (app/pool_commands.h).
// Not thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "app/commands.h"
#include "app/pool_commands.h"

namespace CLI {
class App;
}

namespace dslmodel::app {

struct AgentArgs {
  std::string id;                           // default agent-<hostname>-<pid>
  double heartbeat_s = 5;                   // seconds between heartbeats
  std::int64_t poll_ms = 200;               // wait between claims when nothing is pending
  std::int64_t timeout_s = 300;             // per item without its own timeout
  double grace_s = 10;                      // on stop: how long the running item may finish
  std::vector<std::string> prompt_handler;  // argv, one element per --prompt-handler
  std::int64_t max_items = 0;               // 0: unlimited
  bool exit_when_idle = false;
  std::vector<std::string> stop_ids;  // `agent stop`: supervised agents to stop; empty: all
  PoolArgs pool;                      // `agent pool`
};

// Adds the `agent` group and its commands under `app`, parsing into `args`.
void add_agent_commands(CLI::App& app, AgentArgs& args);

// Runs the agent command that was parsed. REQUIRES: `agent` is the parsed `agent` group.
int dispatch_agent(const CLI::App& agent, const Context& ctx, const AgentArgs& args);

}  // namespace dslmodel::app

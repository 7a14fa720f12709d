// `dsl auto simulate`: replay a trace against the engine's own policy and the HPA baseline on a
// virtual clock (docs/simulate.md). Returns an exit code (0 done, 1 could not read the input,
// 2 bad usage). Not thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "app/commands.h"

namespace CLI {
class App;
}

namespace dslmodel::app {

struct SimulateArgs {
  std::string trace;                  // a built-in trace name or a file
  std::string from_dir;               // a coordination directory's recorded work
  std::vector<std::string> policies;  // default, seed, hpa, or a TOML config file
  double interval_s = 15;
  double startup_lag_s = -1;  // -1: 1 s, or the lag measured in --from-dir's journal
  int initial_agents = -1;    // -1: min_agents (0 with --from-dir)
  std::uint64_t seed = 1;
  std::string plot;  // an SVG file to write
  std::string format = "table";
};

// Adds `simulate` under the `auto` group.
void add_simulate_command(CLI::App& auto_group, SimulateArgs& args);

int run_simulate(const Context& ctx, const SimulateArgs& args);

}  // namespace dslmodel::app

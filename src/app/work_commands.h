// `dsl work add|list|show|requeue`: the operator's side of the work queue, through the WorkQueue
// interface over the coordination directory. Each command returns an exit code (0 done, 1 could
// not do it, 2 bad usage). Not thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "app/commands.h"

namespace CLI {
class App;
}

namespace dslmodel::app {

struct WorkArgs {
  // add
  std::vector<std::string> command;  // argv, taken literally (everything after --)
  std::optional<std::string> prompt;
  std::int64_t priority = 0;
  std::int64_t max_attempts = 3;
  std::optional<std::int64_t> timeout_s;
  std::string id;
  // list
  std::string status;
  // show, requeue
  std::string item_id;
};

// Adds the `work` group and its commands under `app`, parsing into `args`.
void add_work_commands(CLI::App& app, WorkArgs& args);

// Runs the work command that was parsed. REQUIRES: `work` is the parsed `work` group.
int dispatch_work(const CLI::App& work, const Context& ctx, const WorkArgs& args);

}  // namespace dslmodel::app

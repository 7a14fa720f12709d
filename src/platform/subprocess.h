// Running a child process from an argv, without a shell, with a timeout (POSIX).
// Thread-safe: no shared state; the caller's thread blocks until the child ends or is killed.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "dslmodel/status.h"

namespace dslmodel::platform {

struct RunOptions {
  std::chrono::milliseconds timeout{30000};  // then SIGTERM, and SIGKILL after `grace`
  std::chrono::milliseconds grace{2000};
  std::size_t max_output =
      std::size_t{64} * 1024;  // keep the last this many bytes of stdout+stderr
  std::string stdin_data;      // written to the child's stdin, then closed
};

struct RunResult {
  int exit_code = -1;  // the child's exit status, or -1 when killed by a signal
  int signal = 0;      // the signal that ended it, or 0
  bool timed_out = false;
  std::string output;  // combined stdout and stderr, the tail when longer than max_output
  std::chrono::milliseconds duration{0};
};

// The executable `prog` names: itself when it holds a '/', else the first regular executable
// file <dir>/<prog> along PATH (an empty entry is "."; no PATH: /usr/local/bin:/usr/bin:/bin).
// nullopt when there is none.
std::optional<std::string> find_program(const std::string& prog);

// Starts argv[0] (looked up in PATH) with posix_spawnp, arguments passed literally. Fails with
// kInvalidArgument for an empty argv, kUnavailable when the program cannot be started. A child
// that runs and exits non-zero or times out is a successful Run with that result.
Result<RunResult> run_command(const std::vector<std::string>& argv, const RunOptions& options = {});

}  // namespace dslmodel::platform

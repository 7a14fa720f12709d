// Waiting for a started child process (Linux): a poll() loop over its output, its stdin, a pidfd
// and an optional wake pipe, with deadlines for a timeout, for the grace a stop request leaves it
// and for SIGKILL. The one loop both run_command (platform/subprocess.h) and the agent's
// run_child share. Signals go to the child's process group (-pid): the child must lead one.
//
// Thread-safe: no shared state. The calling thread blocks until the child is reaped; a stop
// request wakes it at once when the requester also writes to the wake pipe.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <stop_token>
#include <string>
#include <string_view>

#include "platform/unique_fd.h"

namespace dslmodel::platform {

struct ChildWaitOptions {
  std::chrono::milliseconds timeout{30000};         // then SIGTERM to the group
  std::chrono::milliseconds kill_grace{2000};       // between SIGTERM and SIGKILL
  std::chrono::milliseconds stop_grace{10000};      // once stop is requested, let it run this long
  std::size_t max_output = std::size_t{64} * 1024;  // keep the last this many bytes of output
  // Once the leader has exited, SIGKILL whatever is left in its group on every path; when false,
  // only after a timeout or a stop.
  bool kill_group_on_exit = false;
};

// The child's ends of its pipes, as this process holds them. All optional (-1).
struct ChildPipes {
  UniqueFd output;              // read end of the child's stdout and stderr
  UniqueFd input;               // write end of the child's stdin
  std::string_view input_data;  // written to `input`, which is then closed
  UniqueFd wake;                // read end of a pipe a stop request writes to
};

struct ChildEnd {
  int exit_code = -1;      // the exit status, or -1 when ended by a signal or reaped elsewhere
  int signal = 0;          // the signal that ended it, or 0
  bool timed_out = false;  // the timeout ran out and the group was signalled
  bool cancelled = false;  // stop was requested, stop_grace ran out and the group was signalled
  std::string output;      // the last max_output bytes of output, as read
};

// Feeds stdin, collects output and enforces the deadlines (counted from `start`) until the child
// `pid` has exited, then reaps it. Never fails: a child reaped elsewhere ends with exit_code -1.
ChildEnd wait_for_child(pid_t pid, ChildPipes pipes, const ChildWaitOptions& options,
                        std::chrono::steady_clock::time_point start, std::stop_token stop = {});

}  // namespace dslmodel::platform

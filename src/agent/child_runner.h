// Running one work item's process (Linux): an argv started under a supervising shim
// (agent/child_shim.h) that ties the command's whole process group to the agent, never through a
// shell, with a timeout, optional stdin, a bounded output tail and cancellation by a stop token
// with a grace period. platform::run_command cannot be interrupted, which an agent asked to stop
// needs; this is its cancellable sibling.
//
// Thread-safe: no shared state. The calling thread blocks until the child is reaped; a stop
// request (from any thread) wakes it at once.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "dslmodel/status.h"

namespace dslmodel::agent {

// The process group a started item runs in: its leader (the shim) is `pgid`, started at
// `start_time` (clock ticks after boot, /proc/<pid>/stat field 22; 0 when unreadable).
struct StartedChild {
  pid_t pgid = 0;
  std::uint64_t start_time = 0;
};

struct ChildSpec {
  std::vector<std::string> argv;  // argv[0] looked up in PATH; every element passed literally
  std::string stdin_data;         // written to the child's stdin, then closed (empty: /dev/null)
  std::chrono::milliseconds timeout{300000};    // then SIGTERM, SIGKILL after kill_grace
  std::chrono::milliseconds stop_grace{10000};  // once stop is requested, let it run this long
  std::chrono::milliseconds kill_grace{2000};   // between SIGTERM and SIGKILL
  std::size_t max_output = 4096;                // keep the last this many bytes of output
  // Called once on the calling thread as soon as the command runs, before the wait begins.
  std::function<void(const StartedChild&)> on_start;
};

struct ChildResult {
  int exit_code = -1;      // the exit status, or -1 when ended by a signal
  int signal = 0;          // the signal that ended it, or 0
  bool timed_out = false;  // the timeout ran out and the child was signalled
  bool cancelled = false;  // stop was requested, stop_grace ran out and the child was signalled
  std::string output;      // stdout+stderr, the last max_output bytes, valid UTF-8
  std::chrono::milliseconds duration{0};
};

// Runs spec.argv in its own process group (signals go to the whole group, so grandchildren die
// with it), with default signal dispositions and an empty signal mask, fds 0-2 wired and every
// other descriptor closed. Whatever is left in the group when the command ends is killed; if the
// agent dies (kill -9 included) the shim stops the group: SIGTERM, SIGKILL after kill_grace. Fails
// with kInvalidArgument for an empty argv and kUnavailable when the program cannot be started. A
// child that exits non-zero, times out or is cancelled is a successful run carrying that result.
Result<ChildResult> run_child(const ChildSpec& spec, std::stop_token stop);

// `text` with every invalid UTF-8 sequence replaced by U+FFFD and a leading partial character
// (a tail cut mid-character) dropped. Pure.
std::string sanitize_utf8(std::string_view text);

}  // namespace dslmodel::agent

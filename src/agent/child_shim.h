// Starting a work item's command under a supervising shim, so that the command and everything it
// starts die with the agent on every exit path, kill -9 included (docs/agents.md, "Exactly
// once"). Linux: PR_SET_PDEATHSIG and signalfd.
//
// The shim is a fork of the agent that never execs: it leads a new process group, forks the
// command into that group and waits for it. When the agent dies (its end of a control pipe
// closes, or the parent-death signal SIGTERM arrives) or the shim is asked to terminate (SIGTERM,
// SIGINT, SIGHUP, SIGQUIT), it sends SIGTERM to the whole group and SIGKILL after kill_grace, the
// way systemd's KillMode=control-group stops a unit. When the command ends, the shim ends with
// the same exit status or signal. Between fork and exit the shim only makes async-signal-safe
// calls: the agent is multi-threaded.
//
// Thread-safe: no shared state.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include "dslmodel/status.h"
#include "platform/unique_fd.h"

namespace dslmodel::agent {

struct ShimLaunch {
  std::vector<std::string> argv;               // argv[0] looked up in PATH; REQUIRES: non-empty
  int stdin_fd = -1;                           // the command's stdin
  int output_fd = -1;                          // the command's stdout and stderr
  std::chrono::milliseconds kill_grace{2000};  // SIGTERM to SIGKILL once the agent is gone
};

struct ShimChild {
  pid_t pid = 0;               // the shim: also the process group id of the command's group
  platform::UniqueFd control;  // the agent's end of the control pipe: closing it stops the group
};

// Forks the shim and waits until the command has been exec'd. Fails with kUnavailable "cannot
// start <argv0>: <reason>" when it cannot be (the shim is reaped then), kIo when the pipes or the
// fork fail. The caller reaps the shim (waitpid) and may signal its group (kill(-pid, sig)).
Result<ShimChild> start_in_shim(const ShimLaunch& launch);

}  // namespace dslmodel::agent

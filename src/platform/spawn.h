// Starting a long-lived, detached child process from an argv, without a shell (POSIX).
// Thread-safe: no shared state. Every descriptor opened here is close-on-exec.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

#include "dslmodel/status.h"

namespace dslmodel::platform {

// Starts argv[0] (looked up in PATH) with posix_spawnp, arguments passed literally, in a new
// session (so it is its own process group leader and a terminal's SIGINT never reaches it), with
// default signal dispositions and an empty signal mask, stdin from /dev/null, stdout and stderr
// appended to `log_file` (created 0644 when missing, never through a symlink), and every other
// descriptor closed. Does not wait: the caller owns the child and must reap it (waitpid/waitid).
// Returns the child's pid. Fails with kInvalidArgument for an empty argv, kIo when the log file or
// /dev/null cannot be opened (the message names the path), kUnavailable "cannot start <argv0>:
// <reason>" when the program cannot be executed.
Result<pid_t> spawn_detached(const std::vector<std::string>& argv,
                             const std::filesystem::path& log_file);

}  // namespace dslmodel::platform

// Starting a child process from an argv, without a shell (POSIX): the one posix_spawnp set-up
// every child of the engine goes through (run_command, spawn_detached), and the argv and
// environment every exec uses. Thread-safe: no shared state. Every descriptor opened here is
// close-on-exec.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

#include "dslmodel/status.h"

namespace dslmodel::platform {

// How spawn_process() sets the child up.
struct SpawnOptions {
  enum class Group {
    kOwn,         // a new process group led by the child (signals to -pid reach all of it)
    kNewSession,  // a new session: also out of reach of a terminal's SIGINT
  };
  Group group = Group::kOwn;
  int stdin_fd = -1;   // dup'd onto the child's stdin; REQUIRES: valid
  int output_fd = -1;  // dup'd onto its stdout and stderr; REQUIRES: valid
  // Every catchable signal back to its default disposition; when false, only SIGPIPE, SIGINT,
  // SIGTERM, SIGHUP, SIGQUIT, SIGCHLD, SIGUSR1 and SIGUSR2.
  bool default_all_signals = false;
};

// The argv as execve takes it: pointers into `argv`'s strings, then a null pointer.
std::vector<char*> exec_argv(const std::vector<std::string>& argv);

// This process's environment, which every child inherits.
char* const* inherited_environment();

// Starts argv[0] (looked up in PATH) with posix_spawnp, arguments passed literally, in the group
// options.group says, with an empty signal mask, fds 0-2 wired as options say and every other
// descriptor closed. Does not wait: the caller owns the child and must reap it. Returns its pid.
// REQUIRES: a non-empty argv. Fails with kIo "posix_spawn setup: <reason>", kUnavailable "cannot
// start <argv0>: <reason>" when the program cannot be executed.
Result<pid_t> spawn_process(const std::vector<std::string>& argv, const SpawnOptions& options);

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

// What /proc says about processes (Linux): a process's state and start time, whether a process or
// a process group still runs, and which pid space this process sees. The agents record these
// facts in their claims, the process supervisor in its state, so that a pid the kernel has
// reused for another process is never mistaken for the recorded one (docs/agents.md).
//
// Thread-safe: no shared state.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace dslmodel::platform {

struct ProcStat {
  char state = '?';              // field 3: R, S, D, Z (zombie), X (dead), ...
  std::uint64_t start_time = 0;  // field 22: clock ticks after boot
};

// Parses the text of a /proc/<pid>/stat file (the command name may hold spaces and parentheses).
// nullopt when malformed. Pure.
std::optional<ProcStat> parse_proc_stat(std::string_view text);

// Parses /proc/<pid>/stat. nullopt when the process does not exist (or the file is unreadable or
// malformed).
std::optional<ProcStat> read_proc_stat(pid_t pid);

// True for the states of a process that has ended: Z (zombie), X/x (dead).
bool is_dead_state(char state);

// The pid space this process sees: "<boot id>/<pid namespace inode>". Two processes compare pids
// meaningfully only when their pid spaces are equal (same kernel boot, same pid namespace); a
// process from another host, container or boot is never checked by pid. "" when unknown.
const std::string& pid_space();

// True while `pid` is a live process (not a zombie) started at `start_time`.
bool process_running(pid_t pid, std::uint64_t start_time);

// True while a process of group `pgid` may still run, the group having been led by a process
// started at `leader_start`. The group id cannot be reused while any member lives, so a live
// group whose id now belongs to a different leader (another start time) is someone else's: the
// recorded group ended. Errs towards "running" (a member of another user counts).
bool process_group_running(pid_t pgid, std::uint64_t leader_start);

}  // namespace dslmodel::platform

// ProcessHandle: one specific process, identified by pid AND start time, so that a pid the kernel
// has reused for another process is never mistaken for it (Linux).
//
// A handle holds a pidfd (pidfd_open, Linux >= 5.3) when the kernel has one: signals then go
// through pidfd_send_signal and can only ever reach the process that was verified when the handle
// was made, and exit is observed by polling the pidfd. Without pidfds, every signal and exit check
// first re-reads /proc/<pid>/stat and compares the start time (field 22).
//
// Thread-safety: a ProcessHandle is a move-only value used by one thread at a time; the free
// functions have no shared state.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "platform/processes.h"

namespace dslmodel::actuate {

// The /proc/<pid>/stat reader lives in platform (the store checks claims with it too).
using platform::parse_proc_stat;
using platform::ProcStat;
using platform::read_proc_stat;

class ProcessHandle {
 public:
  // How a handle watches its process.
  enum class Mode { kPidfd, kProcOnly };

  ProcessHandle() = default;
  ProcessHandle(ProcessHandle&& other) noexcept;
  ProcessHandle& operator=(ProcessHandle&& other) noexcept;
  ProcessHandle(const ProcessHandle&) = delete;
  ProcessHandle& operator=(const ProcessHandle&) = delete;
  ~ProcessHandle();

  // A handle on `pid` when it is alive (not a zombie) and its start time is `start_time`;
  // nullopt otherwise (gone, exited, or the pid now names another process). Never signals.
  static std::optional<ProcessHandle> adopt(pid_t pid, std::uint64_t start_time,
                                            Mode mode = Mode::kPidfd);

  // A handle on a child this process just spawned and has not reaped (its pid cannot have been
  // reused). nullopt only when /proc cannot be read for it.
  static std::optional<ProcessHandle> attach_child(pid_t pid, Mode mode = Mode::kPidfd);

  pid_t pid() const { return pid_; }
  std::uint64_t start_time() const { return start_time_; }
  bool has_pidfd() const { return pidfd_ >= 0; }
  // REQUIRES: has_pidfd(). The descriptor stays owned by the handle.
  int pidfd() const { return pidfd_; }

  // True when the process has terminated (a zombie counts) or the pid names another process.
  bool exited() const;

  // Sends `sig` to the process if it is still the same one. Returns false when it is gone.
  bool signal(int sig) const;

  // Sends `sig` to the process group the process leads, but only while the process is an
  // unreaped zombie or alive with the same start time (so the group id cannot have been reused).
  void signal_group(int sig) const;

  // Collects the exit status if the process is this process's child and has terminated.
  // Harmless (no-op) otherwise; never blocks and never reaps any other process.
  void reap() const;

 private:
  ProcessHandle(pid_t pid, std::uint64_t start_time, int pidfd)
      : pid_(pid), start_time_(start_time), pidfd_(pidfd) {}
  // True while /proc shows the recorded process (a zombie too).
  bool same_process_in_proc(bool allow_zombie) const;

  pid_t pid_ = 0;
  std::uint64_t start_time_ = 0;
  int pidfd_ = -1;
};

// Waits until every handle has exited or `deadline` passes (steady clock), by polling the pidfds
// (handles without one are re-checked every 20 ms). Returns the number still running.
std::size_t wait_exited(const std::vector<const ProcessHandle*>& handles,
                        std::chrono::steady_clock::time_point deadline);

}  // namespace dslmodel::actuate

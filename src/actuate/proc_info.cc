// ProcessHandle: pidfd_open / pidfd_send_signal / waitid(P_PIDFD), with a /proc fallback.
#include "actuate/proc_info.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <string>
#include <utility>

namespace dslmodel::actuate {
namespace {

using platform::is_dead_state;

#ifndef P_PIDFD
constexpr idtype_t P_PIDFD = static_cast<idtype_t>(3);
#endif

// A pidfd for pid (close-on-exec), or -1 when the kernel has none or the process is gone.
int open_pidfd(pid_t pid) {
#ifdef SYS_pidfd_open
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
#else
  (void)pid;
  errno = ENOSYS;
  return -1;
#endif
}

// 0 on success, else -1 with errno (ESRCH: the process has exited).
int send_via_pidfd(int pidfd, int sig) {
#ifdef SYS_pidfd_send_signal
  return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0));
#else
  (void)pidfd;
  (void)sig;
  errno = ENOSYS;
  return -1;
#endif
}

void close_fd(int fd) {
  if (fd >= 0) ::close(fd);
}

}  // namespace

ProcessHandle::ProcessHandle(ProcessHandle&& other) noexcept
    : pid_(other.pid_), start_time_(other.start_time_), pidfd_(std::exchange(other.pidfd_, -1)) {}

ProcessHandle& ProcessHandle::operator=(ProcessHandle&& other) noexcept {
  if (this != &other) {
    close_fd(pidfd_);
    pid_ = other.pid_;
    start_time_ = other.start_time_;
    pidfd_ = std::exchange(other.pidfd_, -1);
  }
  return *this;
}

ProcessHandle::~ProcessHandle() { close_fd(pidfd_); }

std::optional<ProcessHandle> ProcessHandle::adopt(pid_t pid, std::uint64_t start_time, Mode mode) {
  if (pid <= 0) return std::nullopt;
  // Open first, verify second: once open, the pidfd can only ever refer to the verified process.
  int fd = mode == Mode::kPidfd ? open_pidfd(pid) : -1;
  if (fd < 0 && errno == ESRCH) return std::nullopt;
  ProcessHandle handle(pid, start_time, fd);
  if (!handle.same_process_in_proc(/*allow_zombie=*/false)) return std::nullopt;
  return handle;
}

std::optional<ProcessHandle> ProcessHandle::attach_child(pid_t pid, Mode mode) {
  std::optional<ProcStat> stat = read_proc_stat(pid);
  if (!stat) return std::nullopt;
  int fd = mode == Mode::kPidfd ? open_pidfd(pid) : -1;
  return ProcessHandle(pid, stat->start_time, fd);
}

bool ProcessHandle::same_process_in_proc(bool allow_zombie) const {
  std::optional<ProcStat> stat = read_proc_stat(pid_);
  if (!stat || stat->start_time != start_time_) return false;
  return allow_zombie || !is_dead_state(stat->state);
}

bool ProcessHandle::exited() const {
  if (pidfd_ >= 0) {
    pollfd p{pidfd_, POLLIN, 0};
    int rc;
    do {
      rc = ::poll(&p, 1, 0);
    } while (rc < 0 && errno == EINTR);
    return rc > 0;
  }
  return !same_process_in_proc(/*allow_zombie=*/false);
}

bool ProcessHandle::signal(int sig) const {
  if (pidfd_ >= 0) return send_via_pidfd(pidfd_, sig) == 0;
  if (!same_process_in_proc(/*allow_zombie=*/false)) return false;
  return ::kill(pid_, sig) == 0;
}

void ProcessHandle::signal_group(int sig) const {
  // While the leader exists (even as a zombie) its pid, and so its group id, cannot be reused.
  if (!same_process_in_proc(/*allow_zombie=*/true)) return;
  ::kill(-pid_, sig);
}

void ProcessHandle::reap() const {
  siginfo_t info{};
  int rc;
  if (pidfd_ >= 0) {
    do {
      rc = ::waitid(P_PIDFD, static_cast<id_t>(pidfd_), &info, WEXITED | WNOHANG);
    } while (rc < 0 && errno == EINTR);
    return;
  }
  // A zombie's pid cannot be reused, so waiting on it here can only collect this process.
  std::optional<ProcStat> stat = read_proc_stat(pid_);
  if (!stat || stat->start_time != start_time_ || stat->state != 'Z') return;
  do {
    rc = ::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG);
  } while (rc < 0 && errno == EINTR);
}

std::size_t wait_exited(const std::vector<const ProcessHandle*>& handles,
                        std::chrono::steady_clock::time_point deadline) {
  using std::chrono::milliseconds;
  std::vector<const ProcessHandle*> running = handles;
  while (true) {
    std::erase_if(running, [](const ProcessHandle* h) { return h->exited(); });
    auto now = std::chrono::steady_clock::now();
    if (running.empty() || now >= deadline) return running.size();
    std::vector<pollfd> fds;
    bool all_pidfds = true;
    for (const ProcessHandle* h : running) {
      if (h->has_pidfd()) {
        fds.push_back({h->pidfd(), POLLIN, 0});
      } else {
        all_pidfds = false;
      }
    }
    auto wait = std::chrono::ceil<milliseconds>(deadline - now);
    if (!all_pidfds) wait = std::min(wait, milliseconds(20));
    ::poll(fds.data(), fds.size(), static_cast<int>(wait.count()));
  }
}

}  // namespace dslmodel::actuate

// start_in_shim: fork, the shim's loop over a signalfd and the control pipe, and the command's
// fork and execve. Everything the shim and the command use is prepared before the fork.
#include "agent/child_shim.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <optional>

#include "platform/pipe.h"
#include "platform/spawn.h"
#include "platform/subprocess.h"

namespace dslmodel::agent {
namespace {

// The shim's descriptors after it has rearranged them: 0-2 the command's stdio, then these.
constexpr int kControlFd = 3;  // read end: EOF once the agent's write end is closed
constexpr int kErrorFd = 4;    // write end: the errno of a failed exec, then closed
constexpr int kFirstFreeFd = 5;
constexpr int kShimOrphaned = 125;  // the agent died before the shim was set up

// What the shim needs, all of it allocated before the fork.
struct Plan {
  const char* path;
  char* const* argv;
  char* const* envp;
  int stdin_fd;
  int output_fd;
  int control_fd;
  int error_fd;
  pid_t agent;
  long grace_ms;
};

std::int64_t now_ms() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

void close_from(int first) {
#ifdef SYS_close_range
  if (::syscall(SYS_close_range, first, ~0U, 0) == 0) return;
#endif
  rlimit lim{};
  const rlim_t top = ::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY
                         ? std::min<rlim_t>(lim.rlim_cur, 65536)
                         : 65536;
  for (int fd = first; fd < static_cast<int>(top); ++fd) ::close(fd);
}

void write_errno(int fd, int err) {
  ssize_t w;
  do {
    w = ::write(fd, &err, sizeof err);
  } while (w < 0 && errno == EINTR);
}

// The command, in the shim's group: ignored signals back to default, an empty mask, execve.
[[noreturn]] void exec_command(const Plan& p) {
  struct sigaction old {};
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) {
    if (::sigaction(sig, nullptr, &old) == 0 && old.sa_handler == SIG_IGN) {
      ::sigaction(sig, &dfl, nullptr);
    }
  }
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::execve(p.path, p.argv, p.envp);
  write_errno(kErrorFd, errno);
  ::_exit(127);
}

// Ends the shim the way the command ended.
[[noreturn]] void exit_like(int status) {
  if (WIFEXITED(status)) ::_exit(WEXITSTATUS(status));
  const int sig = WIFSIGNALED(status) ? WTERMSIG(status) : SIGKILL;
  const rlimit no_core{0, 0};
  ::setrlimit(RLIMIT_CORE, &no_core);  // the shim is a copy of the agent: never dump it
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  ::sigaction(sig, &dfl, nullptr);
  sigset_t one;
  sigemptyset(&one);
  sigaddset(&one, sig);
  ::kill(::getpid(), sig);
  ::sigprocmask(SIG_UNBLOCK, &one, nullptr);
  ::_exit(128 + sig);
}

// Descriptors: the command's stdio at 0-2, the control and error pipes at 3 and 4, no others.
bool arrange_fds(const Plan& p) {
  const int src[] = {p.stdin_fd, p.output_fd, p.output_fd, p.control_fd, p.error_fd};
  int high[5];
  for (int i = 0; i < 5; ++i) {
    high[i] = ::fcntl(src[i], F_DUPFD_CLOEXEC, 10);
    if (high[i] < 0) return false;
  }
  for (int i = 0; i < 5; ++i) {
    if (::dup2(high[i], i) < 0) return false;
  }
  close_from(kFirstFreeFd);
  ::fcntl(kControlFd, F_SETFD, FD_CLOEXEC);
  ::fcntl(kErrorFd, F_SETFD, FD_CLOEXEC);
  return true;
}

// The shim's own state before the command starts: every signal blocked, its own process group
// that dies with the agent (SIGTERM), its descriptors arranged, SIGPIPE ignored. Exits when the
// agent is already gone or the descriptors cannot be arranged.
void prepare_shim(const Plan& p) {
  sigset_t all;
  sigfillset(&all);
  ::sigprocmask(SIG_SETMASK, &all, nullptr);
  ::setpgid(0, 0);
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (::getppid() != p.agent) ::_exit(kShimOrphaned);  // gone before PR_SET_PDEATHSIG took
  if (!arrange_fds(p)) {
    write_errno(p.error_fd, errno);
    ::_exit(127);
  }
  struct sigaction ign {};
  ign.sa_handler = SIG_IGN;
  ::sigaction(SIGPIPE, &ign, nullptr);
}

// Reads every pending signal from `sfd`; true when one of them asks to terminate (any but
// SIGCHLD).
bool drain_signals(int sfd) {
  bool terminate = false;
  signalfd_siginfo si{};
  while (::read(sfd, &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
    if (si.ssi_signo != SIGCHLD) terminate = true;
  }
  return terminate;
}

// Waits for the command `cmd` and exits like it; terminates the group (SIGTERM, SIGKILL after
// the grace) when a signal asks to or the agent is gone (the control pipe closed, a new parent).
[[noreturn]] void supervise_command(const Plan& p, int sfd, pid_t cmd) {
  const pid_t group = ::getpid();
  bool agent_gone = false;
  bool control_open = true;
  std::int64_t kill_at = -1;  // once terminating: when SIGKILL goes to the group
  while (true) {
    int status = 0;
    pid_t r = ::waitpid(cmd, &status, WNOHANG);
    if (r == cmd) {
      // The command ended: a dead agent's leftovers die now (the shim with them); a live agent
      // kills what is left of the group once it has collected the shim's status.
      if (agent_gone) ::kill(-group, SIGKILL);
      exit_like(status);
    }
    pollfd fds[2] = {{sfd, POLLIN, 0}, {kControlFd, POLLIN, 0}};
    int timeout = -1;
    if (kill_at >= 0) timeout = static_cast<int>(std::max<std::int64_t>(0, kill_at - now_ms()));
    ::poll(fds, control_open ? 2 : 1, timeout);
    const bool terminate = drain_signals(sfd);
    if (control_open && fds[1].revents != 0) {
      char c;
      ssize_t n = ::read(kControlFd, &c, 1);
      if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
        control_open = false;
        ::close(kControlFd);
        agent_gone = true;
      }
    }
    if (::getppid() != p.agent) agent_gone = true;
    if ((terminate || agent_gone) && kill_at < 0) {
      ::kill(-group, SIGTERM);
      kill_at = now_ms() + p.grace_ms;
    }
    if (kill_at >= 0 && now_ms() >= kill_at) ::kill(-group, SIGKILL);
  }
}

[[noreturn]] void shim_main(const Plan& p) {
  prepare_shim(p);
  sigset_t watched;
  sigemptyset(&watched);
  for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGCHLD}) sigaddset(&watched, sig);
  const int sfd = ::signalfd(-1, &watched, SFD_CLOEXEC | SFD_NONBLOCK);
  const pid_t cmd = sfd < 0 ? -1 : ::fork();
  if (cmd == 0) exec_command(p);
  if (cmd < 0) {
    write_errno(kErrorFd, errno);
    ::_exit(127);
  }
  ::close(kErrorFd);
  supervise_command(p, sfd, cmd);
}

// Reads the errno a failed start wrote, or nullopt at EOF (the command was exec'd).
std::optional<int> read_start_error(int fd) {
  int err = 0;
  std::size_t got = 0;
  while (got < sizeof err) {
    ssize_t r = ::read(fd, reinterpret_cast<char*>(&err) + got, sizeof err - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += static_cast<std::size_t>(r);
  }
  if (got == 0) return std::nullopt;
  return got == sizeof err ? err : EIO;
}

}  // namespace

Result<ShimChild> start_in_shim(const ShimLaunch& launch) {
  std::optional<std::string> path = platform::find_program(launch.argv[0]);
  if (!path) {
    return Status(ErrorCode::kUnavailable,
                  fmt::format("cannot start {}: {}", launch.argv[0], std::strerror(ENOENT)));
  }
  std::vector<char*> args = platform::exec_argv(launch.argv);
  auto control = platform::make_pipe();
  if (!control.ok()) return control.status();
  auto error = platform::make_pipe();
  if (!error.ok()) return error.status();
  const Plan plan{
      path->c_str(),      args.data(),      platform::inherited_environment(),
      launch.stdin_fd,    launch.output_fd, control->read.get(),
      error->write.get(), ::getpid(),       static_cast<long>(launch.kill_grace.count())};
  const pid_t pid = ::fork();
  if (pid < 0) return Status(ErrorCode::kIo, fmt::format("fork: {}", std::strerror(errno)));
  if (pid == 0) shim_main(plan);
  ::setpgid(pid, pid);  // also here, so that the group exists before anyone signals it
  control->read.reset();
  error->write.reset();
  if (std::optional<int> err = read_start_error(error->read.get())) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return Status(ErrorCode::kUnavailable,
                  fmt::format("cannot start {}: {}", launch.argv[0], std::strerror(*err)));
  }
  return ShimChild{pid, std::move(control->write)};
}

}  // namespace dslmodel::agent

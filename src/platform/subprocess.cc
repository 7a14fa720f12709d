// run_command: posix_spawnp with pipes, a poll() loop, a timeout and a process group.
//
// Every descriptor this file opens is close-on-exec from birth (pipe2, O_CLOEXEC), so concurrent
// spawns from other threads never inherit them; the child additionally closes every fd >= 3.
#include "platform/subprocess.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string_view>
#include <utility>

extern char** environ;

namespace dslmodel::platform {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Owns one file descriptor; closes it on destruction.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) reset(std::exchange(o.fd_, -1));
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

struct Pipe {
  Fd read;
  Fd write;
};

Result<Pipe> make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    return Status(ErrorCode::kIo, fmt::format("pipe: {}", std::strerror(errno)));
  }
  return Pipe{Fd(fds[0]), Fd(fds[1])};
}

void set_nonblocking(int fd) {
  int flags = ::fcntl(fd, F_GETFL);
  if (flags >= 0) ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

// posix_spawn attributes and file actions, destroyed on scope exit.
class SpawnSetup {
 public:
  SpawnSetup() {
    ::posix_spawnattr_init(&attr_);
    ::posix_spawn_file_actions_init(&actions_);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;
  ~SpawnSetup() {
    ::posix_spawn_file_actions_destroy(&actions_);
    ::posix_spawnattr_destroy(&attr_);
  }

  // Own process group, default signal dispositions, empty mask; fds 0-2 wired, the rest closed.
  int configure(int stdin_fd, int out_fd) {
    sigset_t none;
    sigset_t defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    for (int sig : {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2}) {
      sigaddset(&defaults, sig);
    }
    int rc = ::posix_spawnattr_setflags(
        &attr_, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    if (rc == 0) rc = ::posix_spawnattr_setpgroup(&attr_, 0);
    if (rc == 0) rc = ::posix_spawnattr_setsigmask(&attr_, &none);
    if (rc == 0) rc = ::posix_spawnattr_setsigdefault(&attr_, &defaults);
    if (rc == 0) rc = ::posix_spawn_file_actions_adddup2(&actions_, stdin_fd, STDIN_FILENO);
    if (rc == 0) rc = ::posix_spawn_file_actions_adddup2(&actions_, out_fd, STDOUT_FILENO);
    if (rc == 0) rc = ::posix_spawn_file_actions_adddup2(&actions_, out_fd, STDERR_FILENO);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
    if (rc == 0) rc = ::posix_spawn_file_actions_addclosefrom_np(&actions_, STDERR_FILENO + 1);
#endif
    return rc;
  }

  const posix_spawnattr_t* attr() const { return &attr_; }
  const posix_spawn_file_actions_t* actions() const { return &actions_; }

 private:
  posix_spawnattr_t attr_{};
  posix_spawn_file_actions_t actions_{};
};

// Keeps the last `max` bytes appended.
class TailBuffer {
 public:
  explicit TailBuffer(std::size_t max) : max_(max) {}
  void append(const char* data, std::size_t n) {
    if (max_ == 0) return;
    buf_.append(data, n);
    if (buf_.size() > 2 * max_ + 4096) buf_.erase(0, buf_.size() - max_);
  }
  std::string take() {
    if (buf_.size() > max_) buf_.erase(0, buf_.size() - max_);
    return std::move(buf_);
  }

 private:
  std::size_t max_;
  std::string buf_;
};

// Writes to a pipe without letting SIGPIPE kill the process: SIGPIPE is blocked in this thread
// for the write, and a SIGPIPE the write raised is consumed before unblocking.
ssize_t write_no_sigpipe(int fd, const char* data, std::size_t n) {
  sigset_t pipe_set;
  sigset_t old;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  ::pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
  sigset_t pending;
  sigemptyset(&pending);
  ::sigpending(&pending);
  bool was_pending = sigismember(&pending, SIGPIPE) == 1;
  ssize_t w = ::write(fd, data, n);
  int saved = errno;
  if (w < 0 && saved == EPIPE && !was_pending) {
    struct timespec zero {};
    while (::sigtimedwait(&pipe_set, nullptr, &zero) < 0 && errno == EINTR) {
    }
  }
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  errno = saved;
  return w;
}

// A started child and everything the wait loop needs.
class Child {
 public:
  Child(pid_t pid, Fd out, Fd in, std::string_view stdin_data, const RunOptions& options)
      : pid_(pid),
        out_(std::move(out)),
        in_(std::move(in)),
        stdin_data_(stdin_data),
        tail_(options.max_output),
        options_(options) {
#ifdef SYS_pidfd_open
    pidfd_.reset(static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0)));
#endif
  }

  // Runs the loop until the child is reaped. Returns the filled result (without duration).
  RunResult wait(Clock::time_point start);

 private:
  bool exited() const;
  void feed_stdin();
  void drain_output();
  void enforce_deadline(Clock::time_point now);
  void poll_once(Clock::time_point now);
  std::optional<int> reap();

  pid_t pid_;
  Fd out_;
  Fd in_;
  Fd pidfd_;
  std::string_view stdin_data_;
  TailBuffer tail_;
  const RunOptions& options_;
  Clock::time_point term_deadline_{};
  Clock::time_point kill_deadline_{};
  bool timed_out_ = false;
  bool killed_ = false;
};

bool Child::exited() const {
  siginfo_t info{};
  int rc;
  do {
    rc = ::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT);
  } while (rc < 0 && errno == EINTR);
  // ECHILD: someone else reaped it (e.g. SIGCHLD ignored by the embedding process).
  return rc < 0 || info.si_pid == pid_;
}

void Child::feed_stdin() {
  while (in_.valid() && !stdin_data_.empty()) {
    ssize_t w = write_no_sigpipe(in_.get(), stdin_data_.data(), stdin_data_.size());
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      in_.reset();  // EPIPE: the child does not read its input
      return;
    }
    stdin_data_.remove_prefix(static_cast<std::size_t>(w));
  }
  in_.reset();  // all written: close so the child sees end of input
}

void Child::drain_output() {
  char buf[16384];
  while (out_.valid()) {
    ssize_t r = ::read(out_.get(), buf, sizeof buf);
    if (r > 0) {
      tail_.append(buf, static_cast<std::size_t>(r));
    } else if (r < 0 && errno == EINTR) {
      continue;
    } else if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return;
    } else {
      out_.reset();  // end of output (or an error we cannot recover from)
    }
  }
}

void Child::enforce_deadline(Clock::time_point now) {
  if (!timed_out_ && now >= term_deadline_) {
    timed_out_ = true;
    ::kill(-pid_, SIGTERM);
    kill_deadline_ = now + options_.grace;
  } else if (timed_out_ && !killed_ && now >= kill_deadline_) {
    killed_ = true;
    ::kill(-pid_, SIGKILL);
  }
}

void Child::poll_once(Clock::time_point now) {
  pollfd fds[3];
  nfds_t n = 0;
  if (out_.valid()) fds[n++] = {out_.get(), POLLIN, 0};
  if (in_.valid()) fds[n++] = {in_.get(), POLLOUT, 0};
  if (pidfd_.valid()) fds[n++] = {pidfd_.get(), POLLIN, 0};
  Clock::time_point next = killed_      ? now + milliseconds(100)
                           : timed_out_ ? kill_deadline_
                                        : term_deadline_;
  auto wait = std::chrono::duration_cast<milliseconds>(next - now) + milliseconds(1);
  // Without a pidfd, the child's exit is noticed by polling waitid every few milliseconds.
  if (!pidfd_.valid()) wait = std::min(wait, milliseconds(10));
  int rc = ::poll(fds, n, static_cast<int>(std::max(wait, milliseconds(0)).count()));
  if (rc <= 0) return;
  drain_output();
  if (in_.valid()) feed_stdin();
}

// The wait status, or nullopt when the child was already reaped elsewhere.
std::optional<int> Child::reap() {
  int status = 0;
  pid_t rc;
  do {
    rc = ::waitpid(pid_, &status, 0);
  } while (rc < 0 && errno == EINTR);
  if (rc != pid_) return std::nullopt;
  return status;
}

RunResult Child::wait(Clock::time_point start) {
  term_deadline_ = start + options_.timeout;
  feed_stdin();
  while (!exited()) {
    poll_once(Clock::now());
    enforce_deadline(Clock::now());
  }
  drain_output();
  // The leader is a zombie, so its group id is still reserved: grandchildren of a timed-out
  // command die with it.
  if (timed_out_) ::kill(-pid_, SIGKILL);
  std::optional<int> status = reap();
  RunResult r;
  r.timed_out = timed_out_;
  if (status && WIFEXITED(*status)) {
    r.exit_code = WEXITSTATUS(*status);
  } else if (status && WIFSIGNALED(*status)) {
    r.signal = WTERMSIG(*status);
  }
  r.output = tail_.take();
  return r;
}

}  // namespace

std::optional<std::string> find_program(const std::string& prog) {
  if (prog.empty()) return std::nullopt;
  if (prog.find('/') != std::string::npos) {
    if (::access(prog.c_str(), X_OK) != 0) return std::nullopt;
    return prog;
  }
  const char* path = std::getenv("PATH");
  std::string_view dirs = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  while (true) {
    std::size_t colon = dirs.find(':');
    std::string dir(dirs.substr(0, colon));
    std::string candidate = (dir.empty() ? std::string(".") : dir) + "/" + prog;
    struct stat st {};
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        ::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
    if (colon == std::string_view::npos) return std::nullopt;
    dirs.remove_prefix(colon + 1);
  }
}

Result<RunResult> run_command(const std::vector<std::string>& argv, const RunOptions& options) {
  if (argv.empty() || argv[0].empty()) {
    return Status(ErrorCode::kInvalidArgument, "run_command: empty argv");
  }
  auto out = make_pipe();
  if (!out.ok()) return out.status();
  Pipe in_pipe;
  if (!options.stdin_data.empty()) {
    auto p = make_pipe();
    if (!p.ok()) return p.status();
    in_pipe = std::move(p.value());
  } else {
    in_pipe.read.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (!in_pipe.read.valid()) {
      return Status(ErrorCode::kIo, fmt::format("/dev/null: {}", std::strerror(errno)));
    }
  }
  SpawnSetup setup;
  if (int rc = setup.configure(in_pipe.read.get(), out->write.get()); rc != 0) {
    return Status(ErrorCode::kIo, fmt::format("posix_spawn setup: {}", std::strerror(rc)));
  }
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);

  Clock::time_point start = Clock::now();
  pid_t pid = 0;
  int rc = ::posix_spawnp(&pid, args[0], setup.actions(), setup.attr(), args.data(), environ);
  if (rc != 0) {
    return Status(ErrorCode::kUnavailable,
                  fmt::format("cannot start {}: {}", argv[0], std::strerror(rc)));
  }
  out->write.reset();
  in_pipe.read.reset();
  if (in_pipe.write.valid()) set_nonblocking(in_pipe.write.get());
  set_nonblocking(out->read.get());

  Child child(pid, std::move(out->read), std::move(in_pipe.write), options.stdin_data, options);
  RunResult result = child.wait(start);
  result.duration = std::chrono::duration_cast<milliseconds>(Clock::now() - start);
  // Old C libraries report a failed exec only as exit status 127 from the child.
  if (result.exit_code == 127 && !find_program(argv[0]).has_value()) {
    return Status(ErrorCode::kUnavailable,
                  fmt::format("cannot start {}: {}", argv[0], std::strerror(ENOENT)));
  }
  return result;
}

}  // namespace dslmodel::platform

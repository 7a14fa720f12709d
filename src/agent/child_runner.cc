// run_child: the command under its shim (agent/child_shim.h) with pipes, a poll() loop over
// output, stdin, a pidfd and a wake pipe that a stop request writes to, and deadlines for the
// timeout, the stop grace and SIGKILL.
//
// Every descriptor this file opens is close-on-exec from birth (pipe2, O_CLOEXEC), so spawns
// from other threads never inherit them; the child additionally closes every fd >= 3.
#include "agent/child_runner.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <utility>

#include "agent/child_shim.h"
#include "agent/fd.h"
#include "platform/processes.h"

namespace dslmodel::agent {
namespace {

using SteadyClock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// A started child and the state of its wait loop.
class Supervised {
 public:
  Supervised(pid_t pid, Fd control, Fd out, Fd in, Fd wake, const ChildSpec& spec,
             std::stop_token stop)
      : pid_(pid),
        control_(std::move(control)),
        out_(std::move(out)),
        in_(std::move(in)),
        wake_(std::move(wake)),
        pending_in_(spec.stdin_data),
        spec_(spec),
        stop_(std::move(stop)) {
#ifdef SYS_pidfd_open
    pidfd_.reset(static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0)));
#endif
  }

  // Runs until the child is reaped. Returns the result without its duration.
  ChildResult wait(SteadyClock::time_point start);

 private:
  bool exited() const;
  void feed_stdin();
  void drain_output();
  void enforce_deadlines(SteadyClock::time_point now);
  void poll_once(SteadyClock::time_point now);
  SteadyClock::time_point next_deadline() const;
  std::optional<int> reap();

  pid_t pid_;
  Fd control_;  // held until the shim is reaped: its closing (even by kill -9) stops the group
  Fd out_;
  Fd in_;
  Fd wake_;
  Fd pidfd_;
  std::string_view pending_in_;
  const ChildSpec& spec_;
  std::stop_token stop_;
  std::string tail_;
  SteadyClock::time_point timeout_at_{};
  std::optional<SteadyClock::time_point> cancel_at_;
  std::optional<SteadyClock::time_point> kill_at_;
  bool timed_out_ = false;
  bool cancelled_ = false;
  bool killed_ = false;
};

bool Supervised::exited() const {
  siginfo_t info{};
  int rc;
  do {
    rc = ::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT);
  } while (rc < 0 && errno == EINTR);
  return rc < 0 || info.si_pid == pid_;  // ECHILD: reaped elsewhere
}

void Supervised::feed_stdin() {
  while (in_.valid() && !pending_in_.empty()) {
    ssize_t w = write_no_sigpipe(in_.get(), pending_in_.data(), pending_in_.size());
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      in_.reset();  // EPIPE: the child does not read its input
      return;
    }
    pending_in_.remove_prefix(static_cast<std::size_t>(w));
  }
  in_.reset();  // all written: close so the child sees end of input
}

void Supervised::drain_output() {
  char buf[16384];
  while (out_.valid()) {
    ssize_t r = ::read(out_.get(), buf, sizeof buf);
    if (r > 0) {
      tail_.append(buf, static_cast<std::size_t>(r));
      if (tail_.size() > 2 * spec_.max_output + 4096) {
        tail_.erase(0, tail_.size() - spec_.max_output);
      }
    } else if (r < 0 && errno == EINTR) {
      continue;
    } else if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return;
    } else {
      out_.reset();
    }
  }
}

void Supervised::enforce_deadlines(SteadyClock::time_point now) {
  if (!cancel_at_ && stop_.stop_requested()) cancel_at_ = now + spec_.stop_grace;
  if (!kill_at_) {
    bool timeout = now >= timeout_at_;
    bool cancel = cancel_at_ && now >= *cancel_at_;
    if (!timeout && !cancel) return;
    timed_out_ = timeout;
    cancelled_ = !timeout;
    ::kill(-pid_, SIGTERM);
    kill_at_ = now + spec_.kill_grace;
  } else if (!killed_ && now >= *kill_at_) {
    killed_ = true;
    ::kill(-pid_, SIGKILL);
  }
}

SteadyClock::time_point Supervised::next_deadline() const {
  if (killed_) return SteadyClock::now() + milliseconds(100);
  if (kill_at_) return *kill_at_;
  return cancel_at_ ? std::min(timeout_at_, *cancel_at_) : timeout_at_;
}

void Supervised::poll_once(SteadyClock::time_point now) {
  pollfd fds[4];
  nfds_t n = 0;
  if (out_.valid()) fds[n++] = {out_.get(), POLLIN, 0};
  if (in_.valid()) fds[n++] = {in_.get(), POLLOUT, 0};
  if (pidfd_.valid()) fds[n++] = {pidfd_.get(), POLLIN, 0};
  if (!cancel_at_ && wake_.valid()) fds[n++] = {wake_.get(), POLLIN, 0};
  auto wait = std::chrono::duration_cast<milliseconds>(next_deadline() - now) + milliseconds(1);
  // Without a pidfd the child's exit is noticed by polling waitid every few milliseconds.
  if (!pidfd_.valid()) wait = std::min(wait, milliseconds(10));
  wait = std::clamp(wait, milliseconds(0), milliseconds(60000));
  if (::poll(fds, n, static_cast<int>(wait.count())) <= 0) return;
  drain_output();
  if (in_.valid()) feed_stdin();
}

std::optional<int> Supervised::reap() {
  int status = 0;
  pid_t rc;
  do {
    rc = ::waitpid(pid_, &status, 0);
  } while (rc < 0 && errno == EINTR);
  if (rc != pid_) return std::nullopt;
  return status;
}

ChildResult Supervised::wait(SteadyClock::time_point start) {
  timeout_at_ = start + spec_.timeout;
  feed_stdin();
  while (!exited()) {
    poll_once(SteadyClock::now());
    enforce_deadlines(SteadyClock::now());
  }
  drain_output();
  // The shim is a zombie, so its group id is still reserved: whatever the command left running
  // in its group (a background grandchild) dies with it, on every path (KillMode=control-group).
  ::kill(-pid_, SIGKILL);
  std::optional<int> status = reap();
  control_.reset();
  ChildResult r;
  r.timed_out = timed_out_;
  r.cancelled = cancelled_;
  if (status && WIFEXITED(*status)) {
    r.exit_code = WEXITSTATUS(*status);
  } else if (status && WIFSIGNALED(*status)) {
    r.signal = WTERMSIG(*status);
  }
  std::string_view tail = tail_;
  if (tail.size() > spec_.max_output) tail.remove_prefix(tail.size() - spec_.max_output);
  r.output = sanitize_utf8(tail);
  return r;
}

// Opens the child's stdin: a pipe when there is data to write, else /dev/null.
Result<Pipe> make_stdin(const std::string& data) {
  if (!data.empty()) return make_pipe();
  Pipe p;
  p.read.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (!p.read.valid()) {
    return Status(ErrorCode::kIo, fmt::format("/dev/null: {}", std::strerror(errno)));
  }
  return p;
}

}  // namespace

Result<ChildResult> run_child(const ChildSpec& spec, std::stop_token stop) {
  if (spec.argv.empty() || spec.argv[0].empty()) {
    return Status(ErrorCode::kInvalidArgument, "run_child: empty argv");
  }
  auto out = make_pipe();
  if (!out.ok()) return out.status();
  auto in = make_stdin(spec.stdin_data);
  if (!in.ok()) return in.status();
  auto wake = make_pipe();
  if (!wake.ok()) return wake.status();
  set_nonblocking(wake->write.get());
  const SteadyClock::time_point start = SteadyClock::now();
  ShimLaunch launch;
  launch.argv = spec.argv;
  launch.stdin_fd = in->read.get();
  launch.output_fd = out->write.get();
  launch.kill_grace = spec.kill_grace;
  Result<ShimChild> shim = start_in_shim(launch);
  if (!shim.ok()) return shim.status();
  const pid_t pid = shim->pid;
  out->write.reset();
  in->read.reset();
  if (in->write.valid()) set_nonblocking(in->write.get());
  set_nonblocking(out->read.get());
  if (spec.on_start) {
    StartedChild started;
    started.pgid = pid;
    if (auto stat = platform::read_proc_stat(pid)) started.start_time = stat->start_time;
    spec.on_start(started);
  }
  const int wake_fd = wake->write.get();
  std::stop_callback on_stop(stop, [wake_fd] { (void)!::write(wake_fd, "x", 1); });
  Supervised child(pid, std::move(shim->control), std::move(out->read), std::move(in->write),
                   std::move(wake->read), spec, std::move(stop));
  ChildResult result = child.wait(start);
  result.duration = std::chrono::duration_cast<milliseconds>(SteadyClock::now() - start);
  return result;
}

}  // namespace dslmodel::agent

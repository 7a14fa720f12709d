// wait_for_child: a poll() loop over output, stdin, a pidfd and a wake pipe; waitid(WNOWAIT) to
// notice the exit without reaping, so that the group id stays reserved until the last kill.
#include "platform/child_wait.h"

#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <optional>
#include <utility>

#include "platform/pipe.h"

namespace dslmodel::platform {
namespace {

using SteadyClock = std::chrono::steady_clock;
using std::chrono::milliseconds;

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

// A started child and the state of its wait loop.
class Waiter {
 public:
  Waiter(pid_t pid, ChildPipes pipes, const ChildWaitOptions& options, std::stop_token stop)
      : pid_(pid),
        pipes_(std::move(pipes)),
        pending_in_(pipes_.input_data),
        options_(options),
        stop_(std::move(stop)),
        tail_(options.max_output) {
#ifdef SYS_pidfd_open
    pidfd_.reset(static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0)));
#endif
  }

  ChildEnd wait(SteadyClock::time_point start);

 private:
  bool exited() const;
  void feed_stdin();
  void drain_output();
  void enforce_deadlines(SteadyClock::time_point now);
  SteadyClock::time_point next_deadline(SteadyClock::time_point now) const;
  void poll_once(SteadyClock::time_point now);
  std::optional<int> reap();

  pid_t pid_;
  ChildPipes pipes_;
  UniqueFd pidfd_;
  std::string_view pending_in_;
  const ChildWaitOptions& options_;
  std::stop_token stop_;
  TailBuffer tail_;
  SteadyClock::time_point timeout_at_{};
  std::optional<SteadyClock::time_point> cancel_at_;
  std::optional<SteadyClock::time_point> kill_at_;
  bool timed_out_ = false;
  bool cancelled_ = false;
  bool killed_ = false;
};

bool Waiter::exited() const {
  siginfo_t info{};
  int rc;
  do {
    rc = ::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT);
  } while (rc < 0 && errno == EINTR);
  // ECHILD: someone else reaped it (e.g. SIGCHLD ignored by the embedding process).
  return rc < 0 || info.si_pid == pid_;
}

void Waiter::feed_stdin() {
  UniqueFd& in = pipes_.input;
  while (in.valid() && !pending_in_.empty()) {
    ssize_t w = write_no_sigpipe(in.get(), pending_in_.data(), pending_in_.size());
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      in.reset();  // EPIPE: the child does not read its input
      return;
    }
    pending_in_.remove_prefix(static_cast<std::size_t>(w));
  }
  in.reset();  // all written: close so the child sees end of input
}

void Waiter::drain_output() {
  UniqueFd& out = pipes_.output;
  char buf[16384];
  while (out.valid()) {
    ssize_t r = ::read(out.get(), buf, sizeof buf);
    if (r > 0) {
      tail_.append(buf, static_cast<std::size_t>(r));
    } else if (r < 0 && errno == EINTR) {
      continue;
    } else if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return;
    } else {
      out.reset();  // end of output (or an error we cannot recover from)
    }
  }
}

void Waiter::enforce_deadlines(SteadyClock::time_point now) {
  if (!cancel_at_ && stop_.stop_requested()) cancel_at_ = now + options_.stop_grace;
  if (!kill_at_) {
    const bool timeout = now >= timeout_at_;
    const bool cancel = cancel_at_ && now >= *cancel_at_;
    if (!timeout && !cancel) return;
    timed_out_ = timeout;
    cancelled_ = !timeout;
    ::kill(-pid_, SIGTERM);
    kill_at_ = now + options_.kill_grace;
  } else if (!killed_ && now >= *kill_at_) {
    killed_ = true;
    ::kill(-pid_, SIGKILL);
  }
}

SteadyClock::time_point Waiter::next_deadline(SteadyClock::time_point now) const {
  if (killed_) return now + milliseconds(100);
  if (kill_at_) return *kill_at_;
  return cancel_at_ ? std::min(timeout_at_, *cancel_at_) : timeout_at_;
}

void Waiter::poll_once(SteadyClock::time_point now) {
  pollfd fds[4];
  nfds_t n = 0;
  if (pipes_.output.valid()) fds[n++] = {pipes_.output.get(), POLLIN, 0};
  if (pipes_.input.valid()) fds[n++] = {pipes_.input.get(), POLLOUT, 0};
  if (pidfd_.valid()) fds[n++] = {pidfd_.get(), POLLIN, 0};
  if (!cancel_at_ && pipes_.wake.valid()) fds[n++] = {pipes_.wake.get(), POLLIN, 0};
  auto wait = std::chrono::duration_cast<milliseconds>(next_deadline(now) - now) + milliseconds(1);
  // Without a pidfd the child's exit is noticed by polling waitid every few milliseconds.
  if (!pidfd_.valid()) wait = std::min(wait, milliseconds(10));
  wait = std::clamp(wait, milliseconds(0), milliseconds(60000));
  if (::poll(fds, n, static_cast<int>(wait.count())) <= 0) return;
  drain_output();
  if (pipes_.input.valid()) feed_stdin();
}

// The wait status, or nullopt when the child was already reaped elsewhere.
std::optional<int> Waiter::reap() {
  int status = 0;
  pid_t rc;
  do {
    rc = ::waitpid(pid_, &status, 0);
  } while (rc < 0 && errno == EINTR);
  if (rc != pid_) return std::nullopt;
  return status;
}

ChildEnd Waiter::wait(SteadyClock::time_point start) {
  timeout_at_ = start + options_.timeout;
  feed_stdin();
  while (!exited()) {
    poll_once(SteadyClock::now());
    enforce_deadlines(SteadyClock::now());
  }
  drain_output();
  // The leader is a zombie, so its group id is still reserved: what is left in its group (a
  // grandchild of a timed-out command, a background process) dies with it.
  if (options_.kill_group_on_exit || kill_at_) ::kill(-pid_, SIGKILL);
  std::optional<int> status = reap();
  ChildEnd end;
  end.timed_out = timed_out_;
  end.cancelled = cancelled_;
  if (status && WIFEXITED(*status)) {
    end.exit_code = WEXITSTATUS(*status);
  } else if (status && WIFSIGNALED(*status)) {
    end.signal = WTERMSIG(*status);
  }
  end.output = tail_.take();
  return end;
}

}  // namespace

ChildEnd wait_for_child(pid_t pid, ChildPipes pipes, const ChildWaitOptions& options,
                        std::chrono::steady_clock::time_point start, std::stop_token stop) {
  Waiter waiter(pid, std::move(pipes), options, std::move(stop));
  return waiter.wait(start);
}

}  // namespace dslmodel::platform

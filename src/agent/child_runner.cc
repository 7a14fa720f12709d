// run_child: the command under its shim (agent/child_shim.h) with pipes, then wait_for_child
// (platform/child_wait.h) over output, stdin, a pidfd and a wake pipe that a stop request writes
// to, with deadlines for the timeout, the stop grace and SIGKILL.
//
// Every descriptor this file opens is close-on-exec from birth (pipe2, O_CLOEXEC), so spawns
// from other threads never inherit them; the child additionally closes every fd >= 3.
#include "agent/child_runner.h"

#include <unistd.h>

#include <utility>

#include "agent/child_shim.h"
#include "platform/child_wait.h"
#include "platform/pipe.h"
#include "platform/processes.h"
#include "platform/unique_fd.h"

namespace dslmodel::agent {
namespace {

using SteadyClock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// The shim's wait: its whole group is killed once it has exited, on every path
// (KillMode=control-group).
platform::ChildWaitOptions wait_options(const ChildSpec& spec) {
  platform::ChildWaitOptions o;
  o.timeout = spec.timeout;
  o.kill_grace = spec.kill_grace;
  o.stop_grace = spec.stop_grace;
  o.max_output = spec.max_output;
  o.kill_group_on_exit = true;
  return o;
}

ChildResult to_result(const platform::ChildEnd& end) {
  ChildResult r;
  r.exit_code = end.exit_code;
  r.signal = end.signal;
  r.timed_out = end.timed_out;
  r.cancelled = end.cancelled;
  r.output = sanitize_utf8(end.output);
  return r;
}

}  // namespace

Result<ChildResult> run_child(const ChildSpec& spec, std::stop_token stop) {
  if (spec.argv.empty() || spec.argv[0].empty()) {
    return Status(ErrorCode::kInvalidArgument, "run_child: empty argv");
  }
  auto out = platform::make_pipe();
  if (!out.ok()) return out.status();
  auto in = platform::make_stdin(spec.stdin_data);
  if (!in.ok()) return in.status();
  auto wake = platform::make_pipe();
  if (!wake.ok()) return wake.status();
  platform::set_nonblocking(wake->write.get());
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
  if (in->write.valid()) platform::set_nonblocking(in->write.get());
  platform::set_nonblocking(out->read.get());
  if (spec.on_start) {
    StartedChild started;
    started.pgid = pid;
    if (auto stat = platform::read_proc_stat(pid)) started.start_time = stat->start_time;
    spec.on_start(started);
  }
  const int wake_fd = wake->write.get();
  std::stop_callback on_stop(stop, [wake_fd] { (void)!::write(wake_fd, "x", 1); });
  // Held until the shim is reaped: its closing (even by kill -9) stops the group.
  platform::UniqueFd control = std::move(shim->control);
  platform::ChildEnd end =
      platform::wait_for_child(pid,
                               platform::ChildPipes{std::move(out->read), std::move(in->write),
                                                    spec.stdin_data, std::move(wake->read)},
                               wait_options(spec), start, std::move(stop));
  control.reset();
  ChildResult result = to_result(end);
  result.duration = std::chrono::duration_cast<milliseconds>(SteadyClock::now() - start);
  return result;
}

}  // namespace dslmodel::agent

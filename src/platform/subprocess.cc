// run_command: spawn_process (platform/spawn.h) in its own process group with pipes, then
// wait_for_child (platform/child_wait.h) for the timeout and the output.
//
// Every descriptor this file opens is close-on-exec from birth (pipe2, O_CLOEXEC), so concurrent
// spawns from other threads never inherit them; the child additionally closes every fd >= 3.
#include "platform/subprocess.h"

#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string_view>
#include <utility>

#include "platform/child_wait.h"
#include "platform/pipe.h"
#include "platform/spawn.h"

namespace dslmodel::platform {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

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
  auto in = make_stdin(options.stdin_data);
  if (!in.ok()) return in.status();
  SpawnOptions spawn;
  spawn.stdin_fd = in->read.get();
  spawn.output_fd = out->write.get();
  Clock::time_point start = Clock::now();
  Result<pid_t> pid = spawn_process(argv, spawn);
  if (!pid.ok()) return pid.status();
  out->write.reset();
  in->read.reset();
  if (in->write.valid()) set_nonblocking(in->write.get());
  set_nonblocking(out->read.get());

  ChildWaitOptions wait;
  wait.timeout = options.timeout;
  wait.kill_grace = options.grace;
  wait.max_output = options.max_output;
  ChildEnd end = wait_for_child(
      *pid, ChildPipes{std::move(out->read), std::move(in->write), options.stdin_data, {}}, wait,
      start);
  RunResult result;
  result.exit_code = end.exit_code;
  result.signal = end.signal;
  result.timed_out = end.timed_out;
  result.output = std::move(end.output);
  result.duration = std::chrono::duration_cast<milliseconds>(Clock::now() - start);
  // Old C libraries report a failed exec only as exit status 127 from the child.
  if (result.exit_code == 127 && !find_program(argv[0]).has_value()) {
    return Status(ErrorCode::kUnavailable,
                  fmt::format("cannot start {}: {}", argv[0], std::strerror(ENOENT)));
  }
  return result;
}

}  // namespace dslmodel::platform

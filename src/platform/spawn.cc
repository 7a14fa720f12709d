// spawn_process: posix_spawnp with a process group or a session, default signals and fds 0-2;
// spawn_detached: that in a new session with /dev/null and a log file.
#include "platform/spawn.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <spawn.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "platform/unique_fd.h"

extern char** environ;

namespace dslmodel::platform {
namespace {

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

  // The group, default dispositions, an empty mask; fds 0-2 wired, the rest closed.
  // Returns 0 or an errno value.
  int configure(const SpawnOptions& o) {
    sigset_t none;
    sigemptyset(&none);
    const sigset_t defaults = default_signals(o.default_all_signals);
    const bool session = o.group == SpawnOptions::Group::kNewSession;
    const short group_flag = session ? POSIX_SPAWN_SETSID : POSIX_SPAWN_SETPGROUP;
    int rc = ::posix_spawnattr_setflags(
        &attr_, static_cast<short>(group_flag | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF));
    if (rc == 0 && !session) rc = ::posix_spawnattr_setpgroup(&attr_, 0);
    if (rc == 0) rc = ::posix_spawnattr_setsigmask(&attr_, &none);
    if (rc == 0) rc = ::posix_spawnattr_setsigdefault(&attr_, &defaults);
    if (rc == 0) rc = ::posix_spawn_file_actions_adddup2(&actions_, o.stdin_fd, STDIN_FILENO);
    if (rc == 0) rc = ::posix_spawn_file_actions_adddup2(&actions_, o.output_fd, STDOUT_FILENO);
    if (rc == 0) rc = ::posix_spawn_file_actions_adddup2(&actions_, o.output_fd, STDERR_FILENO);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
    if (rc == 0) rc = ::posix_spawn_file_actions_addclosefrom_np(&actions_, STDERR_FILENO + 1);
#endif
    return rc;
  }

  const posix_spawnattr_t* attr() const { return &attr_; }
  const posix_spawn_file_actions_t* actions() const { return &actions_; }

 private:
  static sigset_t default_signals(bool all) {
    sigset_t set;
    if (all) {
      sigfillset(&set);
      sigdelset(&set, SIGKILL);
      sigdelset(&set, SIGSTOP);
      return set;
    }
    sigemptyset(&set);
    for (int sig : {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2}) {
      sigaddset(&set, sig);
    }
    return set;
  }

  posix_spawnattr_t attr_{};
  posix_spawn_file_actions_t actions_{};
};

}  // namespace

std::vector<char*> exec_argv(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  return args;
}

char* const* inherited_environment() { return environ; }

Result<pid_t> spawn_process(const std::vector<std::string>& argv, const SpawnOptions& options) {
  SpawnSetup setup;
  if (int rc = setup.configure(options); rc != 0) {
    return Status(ErrorCode::kIo, fmt::format("posix_spawn setup: {}", std::strerror(rc)));
  }
  std::vector<char*> args = exec_argv(argv);
  pid_t pid = 0;
  int rc = ::posix_spawnp(&pid, args[0], setup.actions(), setup.attr(), args.data(),
                          inherited_environment());
  if (rc != 0) {
    return Status(ErrorCode::kUnavailable,
                  fmt::format("cannot start {}: {}", argv[0], std::strerror(rc)));
  }
  return pid;
}

Result<pid_t> spawn_detached(const std::vector<std::string>& argv,
                             const std::filesystem::path& log_file) {
  if (argv.empty() || argv[0].empty()) {
    return Status(ErrorCode::kInvalidArgument, "spawn_detached: empty argv");
  }
  UniqueFd null_fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (!null_fd.valid()) {
    return Status(ErrorCode::kIo, fmt::format("/dev/null: {}", std::strerror(errno)));
  }
  UniqueFd log_fd(
      ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0644));
  if (!log_fd.valid()) {
    return Status(ErrorCode::kIo,
                  fmt::format("cannot open log {}: {}", log_file.string(), std::strerror(errno)));
  }
  SpawnOptions options;
  options.group = SpawnOptions::Group::kNewSession;
  options.stdin_fd = null_fd.get();
  options.output_fd = log_fd.get();
  options.default_all_signals = true;
  return spawn_process(argv, options);
}

}  // namespace dslmodel::platform

// spawn_detached: posix_spawnp with POSIX_SPAWN_SETSID and a log file for output.
#include "platform/spawn.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <spawn.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

extern char** environ;

namespace dslmodel::platform {
namespace {

// Owns one file descriptor; closes it on destruction.
class OwnedFd {
 public:
  explicit OwnedFd(int fd) : fd_(fd) {}
  OwnedFd(const OwnedFd&) = delete;
  OwnedFd& operator=(const OwnedFd&) = delete;
  ~OwnedFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

// posix_spawn attributes and file actions, destroyed on scope exit.
class DetachedSpawnSetup {
 public:
  DetachedSpawnSetup() {
    ::posix_spawnattr_init(&attr_);
    ::posix_spawn_file_actions_init(&actions_);
  }
  DetachedSpawnSetup(const DetachedSpawnSetup&) = delete;
  DetachedSpawnSetup& operator=(const DetachedSpawnSetup&) = delete;
  ~DetachedSpawnSetup() {
    ::posix_spawn_file_actions_destroy(&actions_);
    ::posix_spawnattr_destroy(&attr_);
  }

  // New session, default dispositions, empty mask; fds 0-2 wired, the rest closed.
  // Returns 0 or an errno value.
  int configure(int stdin_fd, int out_fd) {
    sigset_t none;
    sigset_t defaults;
    sigemptyset(&none);
    sigfillset(&defaults);
    sigdelset(&defaults, SIGKILL);
    sigdelset(&defaults, SIGSTOP);
    int rc = ::posix_spawnattr_setflags(
        &attr_, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
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

}  // namespace

Result<pid_t> spawn_detached(const std::vector<std::string>& argv,
                             const std::filesystem::path& log_file) {
  if (argv.empty() || argv[0].empty()) {
    return Status(ErrorCode::kInvalidArgument, "spawn_detached: empty argv");
  }
  OwnedFd null_fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (null_fd.get() < 0) {
    return Status(ErrorCode::kIo, fmt::format("/dev/null: {}", std::strerror(errno)));
  }
  OwnedFd log_fd(
      ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0644));
  if (log_fd.get() < 0) {
    return Status(ErrorCode::kIo,
                  fmt::format("cannot open log {}: {}", log_file.string(), std::strerror(errno)));
  }
  DetachedSpawnSetup setup;
  if (int rc = setup.configure(null_fd.get(), log_fd.get()); rc != 0) {
    return Status(ErrorCode::kIo, fmt::format("posix_spawn setup: {}", std::strerror(rc)));
  }
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  int rc = ::posix_spawnp(&pid, args[0], setup.actions(), setup.attr(), args.data(), environ);
  if (rc != 0) {
    return Status(ErrorCode::kUnavailable,
                  fmt::format("cannot start {}: {}", argv[0], std::strerror(rc)));
  }
  return pid;
}

}  // namespace dslmodel::platform

#include "ha/lock_file_elector.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>
#include <system_error>
#include <utility>

#include "core/json_text.h"
#include "dslmodel/time.h"
#include "platform/files.h"

namespace dslmodel::ha {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kMaxInfoBytes = std::size_t{64} * 1024;

// What leader.json says.
struct LeaderInfo {
  std::string id;
  std::int64_t pid = 0;
  std::int64_t epoch = 0;
};

// leader.json, or nullopt when it is missing, unreadable or not a leader record.
std::optional<LeaderInfo> read_info(const fs::path& path) {
  auto data = platform::read_file_limited(path, kMaxInfoBytes);
  if (!data.ok()) return std::nullopt;
  auto j = parse_json_or_discarded(*data);
  if (!j.is_object()) return std::nullopt;
  LeaderInfo info;
  if (auto it = j.find("id"); it != j.end() && it->is_string()) info.id = it->get<std::string>();
  if (auto it = j.find("pid"); it != j.end() && it->is_number_integer()) {
    info.pid = it->get<std::int64_t>();
  }
  auto epoch = j.find("epoch");
  if (epoch == j.end() || !epoch->is_number_integer()) return std::nullopt;
  info.epoch = epoch->get<std::int64_t>();
  return info;
}

std::string host_name() {
  char buf[HOST_NAME_MAX + 1] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

bool same_file(int fd, const fs::path& path) {
  struct stat by_fd {};
  struct stat by_path {};
  return ::fstat(fd, &by_fd) == 0 && ::stat(path.c_str(), &by_path) == 0 &&
         by_fd.st_dev == by_path.st_dev && by_fd.st_ino == by_path.st_ino;
}

int flock_retry(int fd, int op) {
  int rc;
  do {
    rc = ::flock(fd, op);
  } while (rc != 0 && errno == EINTR);
  return rc == 0 ? 0 : errno;
}

std::string held_by(const std::optional<LeaderInfo>& info) {
  if (!info || info->id.empty()) return "held by another process";
  return fmt::format("held by {} (pid {})", info->id, info->pid);
}

}  // namespace

LockFileElector::LockFileElector(std::filesystem::path state_dir, std::string id,
                                 std::chrono::milliseconds poll)
    : dir_(std::move(state_dir)),
      lock_path_(dir_ / "leader.lock"),
      info_path_(dir_ / "leader.json"),
      id_(std::move(id)),
      poll_(std::max(poll, std::chrono::milliseconds(1))),
      thread_([this](const std::stop_token& stop) { run(stop); }) {}

LockFileElector::~LockFileElector() { resign(); }

Leadership LockFileElector::current() const {
  std::lock_guard<std::mutex> guard(mu_);
  Leadership l;
  l.is_leader = leader_;
  l.epoch = leader_ ? epoch_ : 0;
  l.holder = holder_;
  l.detail = leader_ ? "" : detail_;
  return l;
}

Status LockFileElector::confirm(std::int64_t epoch) {
  dev_t dev = 0;
  ino_t ino = 0;
  {
    std::lock_guard<std::mutex> guard(mu_);
    if (!leader_) return Status(ErrorCode::kConflict, fmt::format("not leader: {}", detail_));
    if (epoch != epoch_) {
      return Status(ErrorCode::kConflict,
                    fmt::format("epoch {} is not the current epoch {}", epoch, epoch_));
    }
    dev = lock_dev_;
    ino = lock_ino_;
  }
  struct stat st {};
  if (::stat(lock_path_.c_str(), &st) != 0 || st.st_dev != dev || st.st_ino != ino) {
    return Status(ErrorCode::kConflict,
                  fmt::format("lock file {} was replaced or removed", lock_path_.string()));
  }
  auto info = read_info(info_path_);
  if (!info || info->epoch != epoch || info->id != id_) {
    return Status(ErrorCode::kConflict,
                  fmt::format("{} no longer names epoch {}", info_path_.string(), epoch));
  }
  return Status::Ok();
}

void LockFileElector::on_change(std::function<void()> callback) {
  std::lock_guard<std::mutex> guard(mu_);
  callback_ = std::move(callback);
}

void LockFileElector::resign() {
  std::lock_guard<std::mutex> resigning(resign_mu_);
  if (std::this_thread::get_id() == thread_.get_id()) {
    // From the callback: the loop ends after it returns; the lock is this thread's to release.
    thread_.request_stop();
  } else if (thread_.joinable()) {
    thread_.request_stop();
    thread_.join();
  }
  release("resigned");
}

void LockFileElector::run(const std::stop_token& stop) {
  while (!stop.stop_requested()) {
    if (fd_ >= 0) {
      check_still_leader();
    } else {
      try_acquire();
    }
    notify_if_changed();
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, stop, poll_, [] { return false; });
  }
}

void LockFileElector::try_acquire() {
  auto set_follower = [this](std::string holder, std::string detail) {
    std::lock_guard<std::mutex> guard(mu_);
    holder_ = std::move(holder);
    detail_ = std::move(detail);
  };
  if (Status s = platform::ensure_state_directory(dir_); !s.ok()) {
    // A symlinked directory is refused as such; anything else could not be created.
    set_follower(
        "", s.code() == ErrorCode::kInvalidArgument ? s.message() : "cannot create " + s.message());
    return;
  }
  int fd = ::open(lock_path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) {
    set_follower("", errno == ELOOP ? platform::symlink_refused(lock_path_).message()
                                    : fmt::format("cannot open {}: {}", lock_path_.string(),
                                                  std::strerror(errno)));
    return;
  }
  if (int err = flock_retry(fd, LOCK_EX | LOCK_NB); err != 0) {
    ::close(fd);
    if (err != EWOULDBLOCK) {
      set_follower("", fmt::format("cannot lock {}: {}", lock_path_.string(), std::strerror(err)));
      return;
    }
    auto info = read_info(info_path_);
    if (info) highest_epoch_ = std::max(highest_epoch_, info->epoch);
    set_follower(info ? info->id : "", held_by(info));
    return;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !same_file(fd, lock_path_)) {
    ::close(fd);  // the file was replaced while we locked it: try the new one next poll
    set_follower("", "lock file replaced");
    return;
  }
  auto previous = read_info(info_path_);
  if (previous) highest_epoch_ = std::max(highest_epoch_, previous->epoch);
  const std::int64_t epoch = highest_epoch_ + 1;
  nlohmann::json info = {{"id", id_},
                         {"host", host_name()},
                         {"pid", static_cast<std::int64_t>(::getpid())},
                         {"epoch", epoch},
                         {"since", format_iso8601(std::chrono::system_clock::now())}};
  Status written = platform::atomic_write_file(info_path_, dump_json(info) + "\n");
  if (!written.ok()) {
    ::close(fd);  // closing drops the lock
    set_follower("", written.message());
    return;
  }
  highest_epoch_ = epoch;
  fd_ = fd;
  std::lock_guard<std::mutex> guard(mu_);
  leader_ = true;
  epoch_ = epoch;
  holder_ = id_;
  detail_.clear();
  lock_dev_ = st.st_dev;
  lock_ino_ = st.st_ino;
}

void LockFileElector::check_still_leader() {
  std::int64_t epoch = 0;
  {
    std::lock_guard<std::mutex> guard(mu_);
    epoch = epoch_;
  }
  if (!same_file(fd_, lock_path_)) {
    release("lost: lock file replaced or removed");
    return;
  }
  auto info = read_info(info_path_);
  if (!info || info->epoch != epoch || info->id != id_) {
    if (info) highest_epoch_ = std::max(highest_epoch_, info->epoch);
    release(fmt::format("lost: {} no longer names epoch {}", info_path_.string(), epoch));
  }
}

void LockFileElector::release(const std::string& why) {
  if (fd_ >= 0) {
    (void)flock_retry(fd_, LOCK_UN);
    ::close(fd_);
    fd_ = -1;
  }
  std::lock_guard<std::mutex> guard(mu_);
  if (leader_) holder_.clear();
  leader_ = false;
  epoch_ = 0;
  detail_ = why;
}

void LockFileElector::notify_if_changed() {
  std::function<void()> callback;
  {
    std::lock_guard<std::mutex> guard(mu_);
    if (leader_ == notified_leader_ && epoch_ == notified_epoch_) return;
    notified_leader_ = leader_;
    notified_epoch_ = epoch_;
    callback = callback_;
  }
  if (callback) callback();
}

}  // namespace dslmodel::ha

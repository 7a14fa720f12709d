// Striped flock(2) item locks under <dir>/.dsl/locks/.
#include "store/item_lock.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "platform/files.h"

namespace dslmodel::store::detail {
namespace {

namespace fs = std::filesystem;

Status lock_error(const fs::path& path, int err) {
  return {ErrorCode::kIo, fmt::format("{}: {}", path.string(), std::strerror(err))};
}

}  // namespace

int lock_stripe(std::string_view item_id) {
  std::uint32_t h = 2166136261u;
  auto mix = [&h](std::string_view s) {
    for (char c : s) {
      h ^= static_cast<unsigned char>(c);
      h *= 16777619u;
    }
  };
  mix("work_");
  mix(item_id);
  mix(".json");
  return static_cast<int>(h % static_cast<std::uint32_t>(kLockStripes));
}

ItemLocks::Guard& ItemLocks::Guard::operator=(Guard&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::flock(fd_, LOCK_UN);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

ItemLocks::Guard::~Guard() {
  if (fd_ >= 0) ::flock(fd_, LOCK_UN);
}

ItemLocks::ItemLocks(fs::path dir) : dir_(std::move(dir)) { fds_.fill(-1); }

ItemLocks::~ItemLocks() {
  for (int fd : fds_) {
    if (fd >= 0) ::close(fd);
  }
}

Result<ItemLocks::Guard> ItemLocks::lock(std::string_view item_id) {
  return acquire(item_id, /*wait=*/true);
}

Result<ItemLocks::Guard> ItemLocks::try_lock(std::string_view item_id) {
  return acquire(item_id, /*wait=*/false);
}

Result<ItemLocks::Guard> ItemLocks::acquire(std::string_view item_id, bool wait) {
  const int stripe = lock_stripe(item_id);
  Result<int> fd = fd_for(stripe);
  if (!fd.ok()) return fd.status();
  int rc = 0;
  do {
    rc = ::flock(*fd, wait ? LOCK_EX : LOCK_EX | LOCK_NB);
  } while (rc != 0 && errno == EINTR);
  if (rc == 0) return Guard(*fd);
  const int err = errno;
  if (err == EWOULDBLOCK) return Status(ErrorCode::kConflict, "busy");
  return lock_error(dir_ / ".dsl" / "locks" / fmt::format("{:02}.lock", stripe), err);
}

Result<int> ItemLocks::fd_for(int stripe) {
  int& slot = fds_[static_cast<std::size_t>(stripe)];
  if (slot >= 0) return slot;
  const fs::path locks = dir_ / ".dsl" / "locks";
  const fs::path path = locks / fmt::format("{:02}.lock", stripe);
  // .dsl/ and .dsl/locks/ themselves are never followed either (platform/files.h).
  for (const fs::path& d : {locks.parent_path(), locks}) {
    if (Status s = platform::ensure_state_directory(d); !s.ok()) return s;
  }
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0 && errno == ELOOP) return platform::symlink_refused(path);
  if (fd < 0) {
    const int err = errno;
    return lock_error(path, err);
  }
  slot = fd;
  return fd;
}

}  // namespace dslmodel::store::detail

#include "journal/file_io.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "platform/files.h"

namespace dslmodel::journal::fileio {

namespace fs = std::filesystem;

Status io_error(std::string_view what, const fs::path& path, int err) {
  return Status(ErrorCode::kIo, fmt::format("{} {}: {}", what, path.string(), std::strerror(err)));
}

FileLock::FileLock(int fd, int op) : fd_(fd) {
  int rc;
  do {
    rc = ::flock(fd_, op);
  } while (rc != 0 && errno == EINTR);
  error_ = rc == 0 ? 0 : errno;
}

FileLock::~FileLock() {
  if (error_ == 0) ::flock(fd_, LOCK_UN);
}

Result<std::string> read_from(int fd, off_t offset, const fs::path& path) {
  std::string data;
  char buf[65536];
  while (true) {
    ssize_t r = ::pread(fd, buf, sizeof buf, offset);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return io_error("read", path, errno);
    if (r == 0) return data;
    data.append(buf, static_cast<std::size_t>(r));
    offset += r;
  }
}

int open_nofollow(const fs::path& file, int flags, mode_t mode) {
  if (file.has_parent_path()) {
    struct stat st {};
    if (::lstat(file.parent_path().c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
      errno = ELOOP;
      return -1;
    }
  }
  return ::open(file.c_str(), flags | O_NOFOLLOW, mode);
}

Status open_error(std::string_view what, const fs::path& file, int err) {
  if (err != ELOOP) return io_error(what, file, err);
  struct stat st {};
  const bool dir_is_link = file.has_parent_path() &&
                           ::lstat(file.parent_path().c_str(), &st) == 0 && S_ISLNK(st.st_mode);
  return platform::symlink_refused(dir_is_link ? file.parent_path() : file);
}

Result<FileId> file_id(const fs::path& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return FileId{};
    return io_error("stat", path, errno);
  }
  if (S_ISLNK(st.st_mode)) return platform::symlink_refused(path);
  return FileId{static_cast<std::uint64_t>(st.st_ino), static_cast<std::uint64_t>(st.st_size)};
}

}  // namespace dslmodel::journal::fileio

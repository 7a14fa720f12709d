// Durable file helpers: every write goes to a temp file that is fsynced and renamed into place,
// and every rename is followed by an fsync of the directories involved.
#include "platform/files.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>

#include "platform/unique_fd.h"

namespace dslmodel::platform {
namespace {

namespace fs = std::filesystem;

Status io_error(const fs::path& path, int err) {
  return {err == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIo,
          fmt::format("{}: {}", path.string(), std::strerror(err))};
}

fs::path parent_or_dot(const fs::path& path) {
  fs::path parent = path.parent_path();
  return parent.empty() ? fs::path(".") : parent;
}

std::uint64_t random_u64() {
  std::uint64_t v = 0;
  if (::getrandom(&v, sizeof v, GRND_NONBLOCK) != static_cast<ssize_t>(sizeof v)) {
    v = static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  }
  return v;
}

// Writes all of `data`; returns 0 or the errno.
int write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return 0;
}

// Creates a hidden temp file next to `path` holding `data`, fsynced. Returns its path.
Result<fs::path> write_temp(const fs::path& path, std::string_view data) {
  fs::path tmp = parent_or_dot(path) / temp_file_name(path.filename().string());
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (!fd.valid()) return io_error(tmp, errno);
  int err = write_all(fd.get(), data);
  if (err == 0 && ::fsync(fd.get()) != 0) err = errno;
  if (err == 0) err = fd.close();
  if (err != 0) {
    ::unlink(tmp.c_str());
    return io_error(tmp, err);
  }
  return tmp;
}

// rename(2) that refuses to replace; falls back to link+unlink where renameat2 is unsupported.
int rename_noreplace(const fs::path& from, const fs::path& to) {
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return 0;
  if (errno != EINVAL && errno != ENOSYS) return errno;
  if (::link(from.c_str(), to.c_str()) != 0) return errno;
  ::unlink(from.c_str());
  return 0;
}

Status sync_after_rename(const fs::path& from, const fs::path& to) {
  fs::path to_dir = parent_or_dot(to);
  fs::path from_dir = parent_or_dot(from);
  Status s = fsync_directory(to_dir);
  if (!s.ok()) return s;
  std::error_code ec;
  if (!fs::equivalent(from_dir, to_dir, ec)) return fsync_directory(from_dir);
  return Status::Ok();
}

}  // namespace

Status fsync_directory(const fs::path& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return io_error(dir, errno);
  if (::fsync(fd.get()) != 0 && errno != EINVAL) return io_error(dir, errno);
  return Status::Ok();
}

std::string temp_file_name(std::string_view target) {
  return fmt::format(".{}.tmp.{}.{:016x}", target, ::getpid(), random_u64());
}

bool is_temp_file_name(std::string_view name) {
  constexpr std::string_view kMarker = ".tmp.";
  constexpr std::size_t kHexDigits = 16;
  const auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
  const auto is_hex = [&](char c) { return is_digit(c) || (c >= 'a' && c <= 'f'); };
  if (name.size() < 2 + kMarker.size() + 2 + kHexDigits || name.front() != '.') return false;
  const std::string_view hex = name.substr(name.size() - kHexDigits);
  if (!std::all_of(hex.begin(), hex.end(), is_hex)) return false;
  std::string_view rest = name.substr(0, name.size() - kHexDigits);  // ".<target>.tmp.<pid>."
  if (rest.back() != '.') return false;
  rest.remove_suffix(1);
  const std::size_t pid_start = rest.find_last_not_of("0123456789") + 1;
  if (pid_start == rest.size() || pid_start < kMarker.size() + 2) return false;
  return rest.substr(pid_start - kMarker.size(), kMarker.size()) == kMarker;
}

Result<std::vector<std::string>> remove_stale_temp_files(const fs::path& dir,
                                                         std::chrono::system_clock::time_point now,
                                                         std::chrono::seconds min_age) {
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) return io_error(dir, errno);
  DIR* d = ::fdopendir(dir_fd);
  if (d == nullptr) {
    const int err = errno;
    ::close(dir_fd);
    return io_error(dir, err);
  }
  std::vector<std::string> removed;
  while (const dirent* e = ::readdir(d)) {
    if (!is_temp_file_name(e->d_name)) continue;
    struct stat st {};
    if (::fstatat(dir_fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode)) {
      continue;
    }
    const auto modified = std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(
            std::chrono::seconds(st.st_mtim.tv_sec) +
            std::chrono::nanoseconds(st.st_mtim.tv_nsec)));
    if (now - modified <= min_age) continue;  // may still be being written
    if (::unlinkat(dir_fd, e->d_name, 0) == 0) removed.emplace_back(e->d_name);
  }
  ::closedir(d);
  if (!removed.empty()) (void)fsync_directory(dir);
  std::sort(removed.begin(), removed.end());
  return removed;
}

Status symlink_refused(const fs::path& path) {
  return {ErrorCode::kInvalidArgument,
          fmt::format("{}: is a symlink; refusing to follow it", path.string())};
}

namespace {

// mkdir -p that fsyncs each parent that gained an entry, so a created directory survives a crash.
Status make_directories(const fs::path& dir) {
  if (dir.empty()) return Status::Ok();
  struct stat st {};
  if (::stat(dir.c_str(), &st) == 0) {
    return S_ISDIR(st.st_mode) ? Status::Ok() : io_error(dir, ENOTDIR);
  }
  if (dir.has_parent_path() && dir.parent_path() != dir) {
    if (Status s = make_directories(dir.parent_path()); !s.ok()) return s;
  }
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) return io_error(dir, errno);
  return fsync_directory(parent_or_dot(dir));
}

}  // namespace

Status ensure_state_directory(const fs::path& dir) {
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) {
    if (errno != ENOENT) return io_error(dir, errno);
    if (Status s = make_directories(dir); !s.ok()) return s;
    if (::lstat(dir.c_str(), &st) != 0) return io_error(dir, errno);
  }
  if (S_ISLNK(st.st_mode)) return symlink_refused(dir);
  if (!S_ISDIR(st.st_mode)) return io_error(dir, ENOTDIR);
  return Status::Ok();
}

Status atomic_write_file(const fs::path& path, std::string_view data) {
  Result<fs::path> tmp = write_temp(path, data);
  if (!tmp.ok()) return tmp.status();
  if (::rename(tmp->c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp->c_str());
    return io_error(path, err);
  }
  return fsync_directory(parent_or_dot(path));
}

Status atomic_create_file(const fs::path& path, std::string_view data) {
  Result<fs::path> tmp = write_temp(path, data);
  if (!tmp.ok()) return tmp.status();
  int err = rename_noreplace(*tmp, path);
  if (err != 0) {
    ::unlink(tmp->c_str());
    if (err == EEXIST) return {ErrorCode::kConflict, path.string() + ": already exists"};
    return io_error(path, err);
  }
  return fsync_directory(parent_or_dot(path));
}

Status read_file_at(int dir_fd, const char* name, std::size_t max_size, std::string& out) {
  out.clear();
  int fd_raw = ::openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd_raw < 0) {
    int err = errno;
    if (err == ELOOP) return {ErrorCode::kInvalidArgument, "symlink"};
    return {err == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIo, std::strerror(err)};
  }
  UniqueFd fd(fd_raw);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return {ErrorCode::kIo, std::strerror(errno)};
  if (!S_ISREG(st.st_mode)) return {ErrorCode::kInvalidArgument, "not a regular file"};
  auto over = [max_size] {
    return Status(ErrorCode::kInvalidArgument,
                  fmt::format("over the size limit ({} bytes)", max_size));
  };
  if (static_cast<std::uintmax_t>(st.st_size) > max_size) return over();
  // One byte more than the size lets a single read() see end of file.
  std::size_t want = static_cast<std::size_t>(st.st_size) + 1;
  for (;;) {
    std::size_t have = out.size();
    out.resize(have + want);
    ssize_t n = ::read(fd.get(), out.data() + have, want);
    if (n < 0) {
      out.resize(have);
      if (errno == EINTR) continue;
      return {ErrorCode::kIo, std::strerror(errno)};
    }
    out.resize(have + static_cast<std::size_t>(n));
    if (out.size() > max_size) return over();
    // A short read of a regular file is its end; a full one may have more behind it.
    if (static_cast<std::size_t>(n) < want) break;
    want = 4096;
  }
  return Status::Ok();
}

Result<std::string> read_file_limited(const fs::path& path, std::size_t max_size) {
  std::string out;
  Status s = read_file_at(AT_FDCWD, path.c_str(), max_size, out);
  if (!s.ok()) return Status(s.code(), fmt::format("{}: {}", path.string(), s.message()));
  return out;
}

Status append_durable(const fs::path& path, std::string_view line) {
  bool created = false;
  int raw = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (raw < 0 && errno == ENOENT) {
    raw = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    created = raw >= 0;
  }
  UniqueFd fd(raw);
  if (!fd.valid()) return io_error(path, errno);
  std::string record(line);
  if (record.empty() || record.back() != '\n') record.push_back('\n');
  int err = write_all(fd.get(), record);
  if (err == 0 && ::fdatasync(fd.get()) != 0) err = errno;
  if (err == 0) err = fd.close();
  if (err != 0) return io_error(path, err);
  return created ? fsync_directory(parent_or_dot(path)) : Status::Ok();
}

Status durable_rename(const fs::path& from, const fs::path& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) return io_error(from, errno);
  return sync_after_rename(from, to);
}

Status durable_rename_noreplace(const fs::path& from, const fs::path& to) {
  int err = rename_noreplace(from, to);
  if (err == EEXIST) return {ErrorCode::kConflict, to.string() + ": already exists"};
  if (err != 0) return io_error(from, err);
  return sync_after_rename(from, to);
}

}  // namespace dslmodel::platform

#include "journal/file_journal.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace dslmodel::journal {
namespace {

namespace fs = std::filesystem;

Status io_error(std::string_view what, const fs::path& path, int err) {
  return Status(ErrorCode::kIo, fmt::format("{} {}: {}", what, path.string(), std::strerror(err)));
}

// Closes an fd on scope exit.
class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  FdCloser(const FdCloser&) = delete;
  FdCloser& operator=(const FdCloser&) = delete;
  ~FdCloser() {
    if (fd_ >= 0) ::close(fd_);
  }

 private:
  int fd_;
};

// Holds a flock(2) until scope exit.
class FileLock {
 public:
  FileLock(int fd, int op) : fd_(fd) {
    int rc;
    do {
      rc = ::flock(fd_, op);
    } while (rc != 0 && errno == EINTR);
    error_ = rc == 0 ? 0 : errno;
  }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  ~FileLock() {
    if (error_ == 0) ::flock(fd_, LOCK_UN);
  }
  int error() const { return error_; }

 private:
  int fd_;
  int error_ = 0;
};

Status fsync_dir(const fs::path& dir) {
  int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return io_error("open directory", dir, errno);
  FdCloser closer(fd);
  if (::fsync(fd) != 0) return io_error("fsync directory", dir, errno);
  return Status::Ok();
}

// Creates dir and its missing parents, fsyncing each parent that gained an entry.
Status ensure_directory(const fs::path& dir) {
  if (dir.empty()) return Status::Ok();
  struct stat st {};
  if (::stat(dir.c_str(), &st) == 0) {
    return S_ISDIR(st.st_mode) ? Status::Ok() : io_error("not a directory:", dir, ENOTDIR);
  }
  if (dir.has_parent_path() && dir.parent_path() != dir) {
    if (Status s = ensure_directory(dir.parent_path()); !s.ok()) return s;
  }
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) return io_error("mkdir", dir, errno);
  return fsync_dir(dir.has_parent_path() ? dir.parent_path() : fs::path("."));
}

// Reads [offset, end of file) of fd.
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

// Calls fn(line) for every line of data, including a last line without '\n'.
template <typename Fn>
void for_each_line(std::string_view data, Fn&& fn) {
  while (!data.empty()) {
    std::size_t nl = data.find('\n');
    fn(data.substr(0, nl));
    if (nl == std::string_view::npos) break;
    data.remove_prefix(nl + 1);
  }
}

// The last max bytes of s, starting at a UTF-8 character boundary.
std::string utf8_tail(std::string s, std::size_t max) {
  if (s.size() <= max) return s;
  std::size_t start = s.size() - max;
  while (start < s.size() && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) ++start;
  return s.substr(start);
}

bool same_file(int fd, const fs::path& path) {
  struct stat by_fd {};
  struct stat by_path {};
  return ::fstat(fd, &by_fd) == 0 && ::stat(path.c_str(), &by_path) == 0 &&
         by_fd.st_dev == by_path.st_dev && by_fd.st_ino == by_path.st_ino;
}

Status write_all(int fd, std::string_view data, const fs::path& path) {
  while (!data.empty()) {
    ssize_t w = ::write(fd, data.data(), data.size());
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return io_error("write", path, errno);
    data.remove_prefix(static_cast<std::size_t>(w));
  }
  return Status::Ok();
}

// The record on one line, or nullopt when it is not valid JSON or not a valid record.
std::optional<JournalEntry> parse_line(std::string_view line) {
  auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  try {
    return journal_entry_from_json(j);
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;  // a field of an unexpected type deep inside the decision
  }
}

}  // namespace

FileJournal::FileJournal(std::filesystem::path file) : file_(std::move(file)) {}

FileJournal::~FileJournal() {
  if (fd_ >= 0) ::close(fd_);
}

// (Re)opens the file when not open or when the path now names another file (rotated, removed).
Status FileJournal::open_locked() {
  if (fd_ >= 0 && same_file(fd_, file_)) return Status::Ok();
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  scanned_size_ = -1;
  last_seq_ = 0;
  if (Status s = ensure_directory(file_.parent_path()); !s.ok()) return s;
  constexpr int kFlags = O_RDWR | O_APPEND | O_CLOEXEC;
  for (int attempt = 0; attempt < 3 && fd_ < 0; ++attempt) {
    int fd = ::open(file_.c_str(), kFlags | O_CREAT | O_EXCL, 0644);
    if (fd >= 0) {
      fd_ = fd;
      fs::path dir = file_.has_parent_path() ? file_.parent_path() : fs::path(".");
      return fsync_dir(dir);
    }
    if (errno != EEXIST) return io_error("create", file_, errno);
    fd = ::open(file_.c_str(), kFlags);
    if (fd >= 0) {
      fd_ = fd;
    } else if (errno != ENOENT) {
      return io_error("open", file_, errno);
    }
  }
  return fd_ >= 0 ? Status::Ok() : io_error("open", file_, ENOENT);
}

// Brings last_seq_ up to date with the first `size` bytes, scanning only what is new.
Status FileJournal::refresh_last_seq_locked(off_t size) {
  if (size == scanned_size_) return Status::Ok();
  off_t from = scanned_size_;
  if (from < 0 || size < from) {
    from = 0;
    last_seq_ = 0;
  }
  auto data = read_from(fd_, from, file_);
  if (!data.ok()) return data.status();
  for_each_line(*data, [this](std::string_view line) {
    auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object()) return;
    auto seq = j.find("seq");
    if (seq != j.end() && seq->is_number_integer()) {
      last_seq_ = std::max(last_seq_, seq->get<std::int64_t>());
    }
  });
  scanned_size_ = from + static_cast<off_t>(data->size());
  return Status::Ok();
}

// Writes entry as the next line of a file of `size` bytes and syncs it.
Status FileJournal::write_record_locked(JournalEntry& entry, off_t size) {
  bool sealed = true;
  if (size > 0) {
    char last = '\n';
    if (::pread(fd_, &last, 1, size - 1) != 1) return io_error("read", file_, errno);
    sealed = last == '\n';
  }
  entry.seq = last_seq_ + 1;
  entry.output = utf8_tail(std::move(entry.output), kMaxOutputBytes);
  std::string line = sealed ? "" : "\n";  // seal a torn last line so it stays one bad line
  line += to_json(entry).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  line += '\n';
  scanned_size_ = -1;  // until the write is known to be whole
  if (Status s = write_all(fd_, line, file_); !s.ok()) return s;
  if (::fdatasync(fd_) != 0) return io_error("fdatasync", file_, errno);
  last_seq_ = entry.seq;
  scanned_size_ = size + static_cast<off_t>(line.size());
  return Status::Ok();
}

Result<std::int64_t> FileJournal::append(JournalEntry entry) {
  std::lock_guard<std::mutex> guard(mu_);
  if (Status s = open_locked(); !s.ok()) return s;
  FileLock lock(fd_, LOCK_EX);
  if (lock.error() != 0) return io_error("lock", file_, lock.error());
  struct stat st {};
  if (::fstat(fd_, &st) != 0) return io_error("stat", file_, errno);
  if (Status s = refresh_last_seq_locked(st.st_size); !s.ok()) return s;
  if (Status s = write_record_locked(entry, st.st_size); !s.ok()) return s;
  return entry.seq;
}

Result<std::vector<JournalEntry>> FileJournal::read_all() const {
  std::vector<JournalEntry> entries;
  int fd = ::open(file_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) {
    corrupt_lines_.store(0);
    return entries;
  }
  if (fd < 0) return io_error("open", file_, errno);
  FdCloser closer(fd);
  std::string data;
  {
    FileLock lock(fd, LOCK_SH);
    if (lock.error() != 0) return io_error("lock", file_, lock.error());
    auto read = read_from(fd, 0, file_);
    if (!read.ok()) return read.status();
    data = std::move(read).value();
  }
  int corrupt = 0;
  for_each_line(data, [&](std::string_view line) {
    if (line.empty()) return;
    auto entry = parse_line(line);
    if (entry) {
      entries.push_back(std::move(*entry));
    } else {
      ++corrupt;
    }
  });
  corrupt_lines_.store(corrupt);
  return entries;
}

}  // namespace dslmodel::journal

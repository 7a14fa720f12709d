#include "journal/file_journal.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
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

#include "core/json_text.h"
#include "core/utf8_tail.h"
#include "platform/files.h"
#include "platform/unique_fd.h"

namespace dslmodel::journal {
namespace {

namespace fs = std::filesystem;

Status io_error(std::string_view what, const fs::path& path, int err) {
  return Status(ErrorCode::kIo, fmt::format("{} {}: {}", what, path.string(), std::strerror(err)));
}

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

// The offset where the last line of the first `size` bytes starts (0 when it is the first line):
// one past the last '\n' before `size`. Reads backwards in blocks.
Result<off_t> last_line_start(int fd, off_t size, const fs::path& path) {
  char buf[65536];
  off_t end = size;
  while (end > 0) {
    const off_t begin = std::max<off_t>(0, end - static_cast<off_t>(sizeof buf));
    const auto want = static_cast<std::size_t>(end - begin);
    ssize_t r = ::pread(fd, buf, want, begin);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return io_error("read", path, errno);
    if (static_cast<std::size_t>(r) != want) return io_error("read", path, EIO);
    for (std::size_t i = want; i > 0; --i) {
      if (buf[i - 1] == '\n') return begin + static_cast<off_t>(i);
    }
    end = begin;
  }
  return off_t{0};
}

// Opens the journal without following a symlink at the file or its directory: the journal is
// never appended (or read) outside the directory it is configured in.
int open_journal(const fs::path& file, int flags, mode_t mode = 0) {
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
  if (file_.has_parent_path()) {
    if (Status s = platform::ensure_state_directory(file_.parent_path()); !s.ok()) return s;
  }
  constexpr int kFlags = O_RDWR | O_APPEND | O_CLOEXEC;
  for (int attempt = 0; attempt < 3 && fd_ < 0; ++attempt) {
    int fd = open_journal(file_, kFlags | O_CREAT | O_EXCL, 0644);
    if (fd >= 0) {
      fd_ = fd;
      fs::path dir = file_.has_parent_path() ? file_.parent_path() : fs::path(".");
      return platform::fsync_directory(dir);
    }
    if (errno != EEXIST) return open_error("create", file_, errno);
    fd = open_journal(file_, kFlags);
    if (fd >= 0) {
      fd_ = fd;
    } else if (errno != ENOENT) {
      return open_error("open", file_, errno);
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
    auto j = parse_json_or_discarded(line);
    if (!j.is_object()) return;
    auto seq = j.find("seq");
    if (seq != j.end() && seq->is_number_integer()) {
      last_seq_ = std::max(last_seq_, seq->get<std::int64_t>());
    }
  });
  scanned_size_ = from + static_cast<off_t>(data->size());
  return Status::Ok();
}

// A last line without its '\n' was left by an append that was interrupted (kill -9, power loss)
// and so never acknowledged. When it is a whole record (only the '\n' is missing) it is sealed
// and kept; otherwise the torn bytes are cut off, so the next record starts on a line of its own
// and the journal holds no unreadable line. Called with the exclusive lock held: no other append
// is in progress. Returns the size of the file after the repair and whether it needs a '\n'.
Result<std::pair<off_t, bool>> FileJournal::repair_torn_tail_locked(off_t size) {
  if (size == 0) return std::pair<off_t, bool>{0, true};
  char last = '\n';
  if (::pread(fd_, &last, 1, size - 1) != 1) return io_error("read", file_, errno);
  if (last == '\n') return std::pair<off_t, bool>{size, true};
  Result<off_t> start = last_line_start(fd_, size, file_);
  if (!start.ok()) return start.status();
  Result<std::string> tail = read_from(fd_, *start, file_);
  if (!tail.ok()) return tail.status();
  if (journal_entry_from_text(*tail)) return std::pair<off_t, bool>{size, false};
  if (::ftruncate(fd_, *start) != 0) return io_error("truncate", file_, errno);
  if (::fdatasync(fd_) != 0) return io_error("fdatasync", file_, errno);
  spdlog::warn("journal {}: removed a torn last line at byte {} ({} bytes, an interrupted append)",
               file_.string(), *start, size - *start);
  scanned_size_ = -1;  // rescan: the bytes cut off may have been scanned
  return std::pair<off_t, bool>{*start, true};
}

// Writes entry as the next line of a file of `size` bytes and syncs it.
Status FileJournal::write_record_locked(JournalEntry& entry, off_t size) {
  auto repaired = repair_torn_tail_locked(size);
  if (!repaired.ok()) return repaired.status();
  const auto [new_size, sealed] = *repaired;
  if (new_size != size) {
    size = new_size;
    if (Status s = refresh_last_seq_locked(size); !s.ok()) return s;
  }
  entry.seq = last_seq_ + 1;
  entry.output = utf8_tail(std::move(entry.output), kMaxOutputBytes);
  std::string line = sealed ? "" : "\n";  // seal a whole last record that lacks its '\n'
  line += dump_json(to_json(entry));
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
  int fd = open_journal(file_, O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) {
    corrupt_lines_.store(0);
    return entries;
  }
  if (fd < 0) return open_error("open", file_, errno);
  platform::UniqueFd closer(fd);
  std::string data;
  {
    FileLock lock(fd, LOCK_SH);
    if (lock.error() != 0) return io_error("lock", file_, lock.error());
    auto read = read_from(fd, 0, file_);
    if (!read.ok()) return read.status();
    data = std::move(read).value();
  }
  int corrupt = 0;
  std::optional<std::size_t> first_corrupt;
  std::optional<std::size_t> torn_at;  // an unreadable last line without '\n': a torn append
  for_each_line(data, [&](std::string_view line) {
    if (line.empty()) return;
    auto entry = journal_entry_from_text(line);
    if (entry) {
      entries.push_back(std::move(*entry));
      return;
    }
    const auto offset = static_cast<std::size_t>(line.data() - data.data());
    if (offset + line.size() == data.size() && data.back() != '\n') {
      torn_at = offset;
      return;
    }
    ++corrupt;
    if (!first_corrupt) first_corrupt = offset;
  });
  if (torn_at) warn_torn_once(*torn_at, data.size() - *torn_at);
  if (first_corrupt) warn_corrupt_once(corrupt, *first_corrupt);
  corrupt_lines_.store(corrupt + (torn_at ? 1 : 0));
  return entries;
}

// Once per torn offset and per count of bad lines, so a loop re-reading every cycle warns once.
void FileJournal::warn_torn_once(std::size_t offset, std::size_t bytes) const {
  const auto at = static_cast<std::int64_t>(offset);
  if (warned_torn_at_.exchange(at) == at) return;
  spdlog::warn(
      "journal {}: the last line, at byte {} ({} bytes), is torn (an interrupted append): "
      "skipped, the records before it are kept, and the next append removes it",
      file_.string(), offset, bytes);
}

void FileJournal::warn_corrupt_once(int count, std::size_t first_offset) const {
  if (warned_corrupt_.exchange(count) == count) return;
  spdlog::warn("journal {}: {} unreadable line{} skipped, the first at byte {}", file_.string(),
               count, count == 1 ? "" : "s", first_offset);
}

}  // namespace dslmodel::journal

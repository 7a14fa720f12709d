// FileJournal's writer: locking, appending, counting repeats, rotation and retention. Reading and
// the index's upkeep are in file_journal_read.cc.
#include "journal/file_journal.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include "core/json_text.h"
#include "core/utf8_tail.h"
#include "journal/file_io.h"
#include "platform/files.h"

namespace dslmodel::journal {
namespace {

namespace fs = std::filesystem;
using fileio::FileLock;
using fileio::io_error;

bool same_file(int fd, const fs::path& path) {
  struct stat by_fd {};
  struct stat by_path {};
  return ::fstat(fd, &by_fd) == 0 && ::lstat(path.c_str(), &by_path) == 0 &&
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

fs::path lock_path(const fs::path& journal) {
  fs::path p = journal;
  p += ".lock";
  return p;
}

}  // namespace

FileJournal::FileJournal(std::filesystem::path file, JournalConfig cfg)
    : file_(std::move(file)), cfg_(cfg) {}

FileJournal::~FileJournal() {
  if (fd_ >= 0) ::close(fd_);
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

// Opens "<journal>.lock" once (creating it and the directory when `create`); -1 in lock_fd_ when
// it does not exist and may not be created: no writer ever ran, so there is nothing to wait for.
Status FileJournal::lock_file_locked(bool create) const {
  if (lock_fd_ >= 0) return Status::Ok();
  if (create && file_.has_parent_path()) {
    if (Status s = platform::ensure_state_directory(file_.parent_path()); !s.ok()) return s;
  }
  const int flags = O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0);
  lock_fd_ = fileio::open_nofollow(lock_path(file_), flags, 0644);
  if (lock_fd_ < 0 && errno == ENOENT && !create) return Status::Ok();
  if (lock_fd_ < 0) return fileio::open_error("open", lock_path(file_), errno);
  return Status::Ok();
}

// (Re)opens the active file when not open or when the path now names another file (rotated,
// removed), creating it when missing.
Status FileJournal::open_locked() {
  if (fd_ >= 0 && same_file(fd_, file_)) return Status::Ok();
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  constexpr int kFlags = O_RDWR | O_APPEND | O_CLOEXEC;
  for (int attempt = 0; attempt < 3 && fd_ < 0; ++attempt) {
    int fd = fileio::open_nofollow(file_, kFlags | O_CREAT | O_EXCL, 0644);
    if (fd >= 0) {
      fd_ = fd;
      fs::path dir = file_.has_parent_path() ? file_.parent_path() : fs::path(".");
      return platform::fsync_directory(dir);
    }
    if (errno != EEXIST) return fileio::open_error("create", file_, errno);
    fd = fileio::open_nofollow(file_, kFlags);
    if (fd >= 0) {
      fd_ = fd;
    } else if (errno != ENOENT) {
      return fileio::open_error("open", file_, errno);
    }
  }
  return fd_ >= 0 ? Status::Ok() : io_error("open", file_, ENOENT);
}

// After sync_locked() every whole line of the active file is folded; bytes past
// index_.active_size are a last line without its '\n', left by an append that was interrupted
// (kill -9, power loss) and so never acknowledged. A whole record is sealed and kept; anything
// else is cut off, so the next record starts on a line of its own. Returns whether it changed.
Result<bool> FileJournal::repair_torn_tail_locked(std::uint64_t size) {
  const std::uint64_t start = index_.active_size;
  if (size <= start) return false;
  if (Status s = open_locked(); !s.ok()) return s;
  Result<std::string> tail = fileio::read_from(fd_, static_cast<off_t>(start), file_);
  if (!tail.ok()) return tail.status();
  if (journal_entry_from_text(*tail)) {
    if (Status s = write_all(fd_, "\n", file_); !s.ok()) return s;
    if (::fdatasync(fd_) != 0) return io_error("fdatasync", file_, errno);
    return true;
  }
  if (::ftruncate(fd_, static_cast<off_t>(start)) != 0) return io_error("truncate", file_, errno);
  if (::fdatasync(fd_) != 0) return io_error("fdatasync", file_, errno);
  spdlog::warn("journal {}: removed a torn last line at byte {} ({} bytes, an interrupted append)",
               file_.string(), start, size - start);
  return true;
}

// Writes entry as the next line of the active file, syncs it and folds it.
Status FileJournal::write_line_locked(const JournalEntry& entry) {
  if (Status s = open_locked(); !s.ok()) return s;
  struct stat st {};
  if (::fstat(fd_, &st) != 0) return io_error("stat", file_, errno);
  const auto size = static_cast<std::uint64_t>(st.st_size);
  std::string line = dump_json(to_json(entry));
  line += '\n';
  if (Status s = write_all(fd_, line, file_); !s.ok()) return s;
  if (::fdatasync(fd_) != 0) return io_error("fdatasync", file_, errno);
  return fold_tail_locked(size);
}

// Seals the active file into a segment named after its first seq, then applies retention.
Status FileJournal::rotate_locked(TimePoint now) {
  if (index_.active_first_seq == 0) return Status::Ok();
  // A record counted again after a crash can open a file with the seq the segment before it
  // ends with; that segment may bear the name already, and the next seq names this one.
  Status renamed;
  for (std::int64_t seq = index_.active_first_seq; seq <= index_.active_first_seq + 1; ++seq) {
    renamed = platform::durable_rename_noreplace(file_, segment_path(file_, seq));
    if (renamed.code() != ErrorCode::kConflict) break;
  }
  if (!renamed.ok()) {
    spdlog::warn("journal {}: not rotated: {}", file_.string(), renamed.message());
    return Status::Ok();
  }
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  index_.active_inode = 0;
  index_.active_first_seq = 0;
  index_.active_size = 0;
  remove_expired_locked(now);
  return Status::Ok();
}

void FileJournal::remove_expired_locked(TimePoint now) const {
  Result<std::vector<Segment>> segments = list_segments(file_);
  if (!segments.ok() || segments->empty()) return;
  std::vector<std::optional<TimePoint>> newest_at;
  for (const Segment& s : *segments) {
    if (cfg_.max_age.count() <= 0) break;  // no age limit: judged by size alone
    std::optional<TimePoint> at;
    (void)for_each_newest(s.path, [&at](JournalEntry&& e) {
      at = e.last_at.value_or(e.at);
      return false;
    });
    newest_at.push_back(at);
    if (at && now - *at <= cfg_.max_age) break;  // every later segment is newer still
  }
  Result<fileio::FileId> active_id = fileio::file_id(file_);
  const std::uint64_t active_bytes = active_id.ok() ? active_id->size : 0;
  bool removed = false;
  for (std::size_t i : expired_segments(*segments, newest_at, active_bytes, cfg_, now)) {
    std::error_code ec;
    removed = fs::remove((*segments)[i].path, ec) || removed;
    if (ec)
      spdlog::warn("journal: cannot remove {}: {}", (*segments)[i].path.string(), ec.message());
  }
  if (removed) (void)platform::fsync_directory(file_.has_parent_path() ? file_.parent_path() : ".");
}

// Counts a repeated skip on the newest record: only the index changes.
Result<std::int64_t> FileJournal::count_repeat_locked(JournalEntry& entry) {
  const JournalEntry& last = *index_.fold.last();
  const TimePoint repeated_at = entry.at;
  JournalEntry updated = std::move(entry);
  updated.seq = last.seq;
  updated.at = last.at;
  updated.repeats = last.repeats + 1;
  updated.last_at = repeated_at;
  updated.output = utf8_tail(std::move(updated.output), kMaxOutputBytes);
  JournalIndex next = index_;
  next.fold.add(updated);
  next.repeat_unwritten = true;
  if (Status s = write_index(file_, next); !s.ok()) return s;
  index_ = std::move(next);
  return updated.seq;
}

Result<std::int64_t> FileJournal::append(JournalEntry entry) {
  std::lock_guard<std::mutex> guard(mu_);
  if (Status s = lock_file_locked(true); !s.ok()) return s;
  FileLock lock(lock_fd_, LOCK_EX);
  if (lock.error() != 0) return io_error("lock", lock_path(file_), lock.error());
  if (Status s = sync_locked(); !s.ok()) return s;
  Result<fileio::FileId> active = fileio::file_id(file_);
  if (!active.ok()) return active.status();
  Result<bool> repaired = repair_torn_tail_locked(active->size);
  if (!repaired.ok()) return repaired.status();
  if (*repaired) {
    if (Status s = sync_locked(); !s.ok()) return s;
  }
  const JournalEntry* last = index_.fold.last();
  if (last != nullptr && same_skip(*last, entry)) return count_repeat_locked(entry);
  if (const JournalEntry* unwritten = index_.unwritten_repeat(); unwritten != nullptr) {
    const JournalEntry counted = *unwritten;
    if (Status s = write_line_locked(counted); !s.ok()) return s;
  }
  if (index_.active_first_seq != 0 && index_.active_size >= cfg_.segment_bytes) {
    if (Status s = rotate_locked(entry.at); !s.ok()) return s;
  }
  entry.seq = std::max(index_.fold.last_seq(), index_.highest_seq) + 1;
  entry.output = utf8_tail(std::move(entry.output), kMaxOutputBytes);
  if (Status s = write_line_locked(entry); !s.ok()) return s;
  if (Status s = write_index(file_, index_); !s.ok()) {
    spdlog::warn("journal {}: index not updated ({}); it is rebuilt when next read", file_.string(),
                 s.message());
  }
  return entry.seq;
}

}  // namespace dslmodel::journal

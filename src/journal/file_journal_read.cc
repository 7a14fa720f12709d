// FileJournal's readers and the upkeep of its index (docs/journal.md, "Bounded history").
#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <functional>
#include <string>
#include <utility>

#include "journal/file_io.h"
#include "journal/file_journal.h"
#include "platform/unique_fd.h"

namespace dslmodel::journal {
namespace {

namespace fs = std::filesystem;
using fileio::FileLock;
using fileio::io_error;

// Calls fn(lines) with the whole lines of `path` from byte `from` on, a block of them at a time
// (memory stays bounded by the block and the longest line). Returns the bytes passed and the
// file's inode; {0, 0} when it is missing.
struct Streamed {
  std::uint64_t bytes = 0;
  std::uint64_t inode = 0;
};
Result<Streamed> stream_lines(const fs::path& path, std::uint64_t from,
                              const std::function<void(std::string_view)>& fn) {
  const int fd = fileio::open_nofollow(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) return Streamed{};
  if (fd < 0) return fileio::open_error("open", path, errno);
  platform::UniqueFd closer(fd);
  Result<fileio::FileId> id = fileio::file_id(path);
  if (!id.ok()) return id.status();
  Streamed out{0, id->inode};
  std::string pending;
  std::string block(std::size_t{1} << 20, '\0');
  for (auto at = static_cast<off_t>(from);;) {
    ssize_t r = ::pread(fd, block.data(), block.size(), at);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return io_error("read", path, errno);
    if (r == 0) break;
    at += r;
    pending.append(block.data(), static_cast<std::size_t>(r));
    const std::size_t nl = pending.rfind('\n');
    if (nl == std::string::npos) continue;
    fn(std::string_view(pending).substr(0, nl + 1));
    out.bytes += nl + 1;
    pending.erase(0, nl + 1);
  }
  return out;
}

// The whole content of `path`; empty when it is missing.
Result<std::string> read_whole(const fs::path& path) {
  const int fd = fileio::open_nofollow(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) return std::string();
  if (fd < 0) return fileio::open_error("open", path, errno);
  platform::UniqueFd closer(fd);
  return fileio::read_from(fd, 0, path);
}

// The seq of the first record of `path`, reading no further than its first line.
std::optional<std::int64_t> first_seq_of(const fs::path& path) {
  const int fd = fileio::open_nofollow(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  platform::UniqueFd closer(fd);
  std::string line;
  char buf[65536];
  for (off_t at = 0;;) {
    ssize_t r = ::pread(fd, buf, sizeof buf, at);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return std::nullopt;
    const std::string_view got(buf, static_cast<std::size_t>(r));
    const std::size_t nl = got.find('\n');
    line.append(got.substr(0, nl));
    if (nl != std::string_view::npos) break;
    at += r;
  }
  const std::optional<JournalEntry> first = journal_entry_from_text(line);
  return first ? std::optional<std::int64_t>(first->seq) : std::nullopt;
}

// Whether the index describes the active file `id`: the same file, no shorter, starting with
// the same record; or, for an index written just after a rotation, no active file yet or one
// that starts with the record after the index's newest.
bool index_fits(const JournalIndex& index, const fileio::FileId& id, const fs::path& file) {
  if (index.active_first_seq == 0) {
    return id.inode == 0 || first_seq_of(file) == index.fold.last_seq() + 1;
  }
  if (index.active_inode != id.inode || id.size < index.active_size) return false;
  return first_seq_of(file) == index.active_first_seq;
}

}  // namespace

// Folds the records of the whole lines of `path` from byte `from` on.
Result<std::uint64_t> FileJournal::fold_file_locked(const fs::path& path, std::uint64_t from,
                                                    bool active) const {
  Result<Streamed> streamed = stream_lines(path, from, [&](std::string_view lines) {
    ParsedLines parsed = parse_lines(lines);
    for (JournalEntry& e : parsed.entries) {
      if (active && index_.active_first_seq == 0) index_.active_first_seq = e.seq;
      index_.fold.add(e);
      if (active) index_.repeat_unwritten = false;
    }
    records_read_ += static_cast<std::int64_t>(parsed.entries.size());
    index_.highest_seq = std::max(index_.highest_seq, parsed.highest_seq);
  });
  if (!streamed.ok()) return streamed.status();
  if (active) index_.active_inode = streamed->inode;
  return from + streamed->bytes;
}

// Folds the whole lines of the active file from byte `from` on: the records appended since.
Status FileJournal::fold_tail_locked(std::uint64_t from) const {
  Result<std::uint64_t> end = fold_file_locked(file_, from, true);
  if (!end.ok()) return end.status();
  index_.active_size = *end;
  return Status::Ok();
}

// Folds every segment and the active file again: the index did not fit the files.
Status FileJournal::rebuild_locked() const {
  index_ = JournalIndex{};
  index_loaded_ = true;
  Result<std::vector<Segment>> segments = list_segments(file_);
  if (!segments.ok()) return segments.status();
  for (const Segment& s : *segments) {
    if (Result<std::uint64_t> end = fold_file_locked(s.path, 0, false); !end.ok()) {
      return end.status();
    }
  }
  return fold_tail_locked(0);
}

// Brings index_ up to date with the files: from memory when they only grew, else from the
// index file, else by a rebuild. Never writes.
Status FileJournal::sync_locked() const {
  Result<fileio::FileId> id = fileio::file_id(file_);
  if (!id.ok()) return id.status();
  if (index_loaded_ && index_.active_first_seq == 0 && id->inode == 0) return Status::Ok();
  if (index_loaded_ && index_.active_inode == id->inode && id->inode != 0 &&
      id->size >= index_.active_size) {
    return id->size == index_.active_size ? Status::Ok() : fold_tail_locked(index_.active_size);
  }
  if (std::optional<JournalIndex> stored = read_index(file_);
      stored && index_fits(*stored, *id, file_)) {
    index_ = std::move(*stored);
    index_loaded_ = true;
    if (index_.active_first_seq == 0) return id->inode != 0 ? fold_tail_locked(0) : Status::Ok();
    return id->size == index_.active_size ? Status::Ok() : fold_tail_locked(index_.active_size);
  }
  if (index_loaded_ || fs::exists(index_path(file_))) {
    spdlog::info("journal {}: index does not match the files; rebuilding it", file_.string());
  }
  return rebuild_locked();
}

// Takes the lock shared in `lock`: none when no writer ever created the lock file (with `create`,
// it is created). Sets `*empty` when there is no journal at all.
Status FileJournal::lock_shared_locked(bool create, std::optional<FileLock>& lock,
                                       bool* empty) const {
  if (Status s = lock_file_locked(create); !s.ok()) return s;
  if (empty != nullptr) *empty = lock_fd_ < 0 && !fs::exists(file_);
  if (lock_fd_ < 0) return Status::Ok();
  lock.emplace(lock_fd_, LOCK_SH);
  return lock->error() == 0 ? Status::Ok() : io_error("lock", file_, lock->error());
}

Result<JournalSummary> FileJournal::summary() const {
  std::lock_guard<std::mutex> guard(mu_);
  std::optional<FileLock> lock;
  bool empty = false;
  if (Status s = lock_shared_locked(fs::exists(file_), lock, &empty); !s.ok()) return s;
  if (empty) return JournalSummary{};
  const std::int64_t read_before = records_read_.load();
  if (Status s = sync_locked(); !s.ok()) return s;
  // A reader that had to fold many records saves the next reader the work: the index is a cache
  // of the files, and no writer runs while the lock is held shared.
  if (lock_fd_ >= 0 && records_read_.load() - read_before > kRewriteIndexAfter) {
    (void)write_index(file_, index_);
  }
  return summary_of(index_.fold);
}

Result<std::vector<JournalEntry>> FileJournal::records_of(std::string_view decision_id) const {
  std::vector<JournalEntry> out;
  Status s = for_each_newest_record([&](JournalEntry&& e) {
    if (e.decision.id == decision_id) out.push_back(std::move(e));
    return true;
  });
  if (!s.ok()) return s;
  std::reverse(out.begin(), out.end());
  return out;
}

Result<std::vector<JournalEntry>> FileJournal::read_all() const {
  std::lock_guard<std::mutex> guard(mu_);
  std::optional<FileLock> lock;
  if (Status s = lock_shared_locked(false, lock, nullptr); !s.ok()) return s;
  Result<std::vector<Segment>> segments = list_segments(file_);
  if (!segments.ok()) return segments.status();
  std::vector<fs::path> files;
  for (const Segment& s : *segments) files.push_back(s.path);
  files.push_back(file_);
  std::vector<JournalEntry> entries;
  int corrupt = 0;
  for (const fs::path& f : files) {
    Result<std::string> read = read_whole(f);
    if (!read.ok()) return read.status();
    ParsedLines parsed = parse_lines(*read);
    records_read_ += static_cast<std::int64_t>(parsed.entries.size());
    if (parsed.torn_at) warn_torn_once(f, *parsed.torn_at, read->size() - *parsed.torn_at);
    if (parsed.first_corrupt) warn_corrupt_once(parsed.corrupt, f, *parsed.first_corrupt);
    corrupt += parsed.corrupt + (parsed.torn_at ? 1 : 0);
    for (JournalEntry& e : parsed.entries) {
      // A counted record written again after a crash may open the next file: the later wins.
      if (!entries.empty() && entries.back().seq == e.seq) {
        entries.back() = std::move(e);
      } else {
        entries.push_back(std::move(e));
      }
    }
  }
  corrupt_lines_.store(corrupt);
  // A repeat counted in the index only: the record as the index has it.
  if (std::optional<JournalIndex> stored = read_index(file_)) {
    const JournalEntry* counted = stored->unwritten_repeat();
    if (counted != nullptr && !entries.empty() && entries.back().seq == counted->seq) {
      entries.back() = *counted;
    }
  }
  return entries;
}

// Calls fn(record) for every record of the active file and the segments, newest first, until fn
// returns false; a repeat counted only in the index is passed as the index has it.
Status FileJournal::for_each_newest_record(const std::function<bool(JournalEntry&&)>& fn) const {
  std::lock_guard<std::mutex> guard(mu_);
  std::optional<FileLock> lock;
  bool empty = false;
  if (Status s = lock_shared_locked(false, lock, &empty); !s.ok() || empty) return s;
  if (Status s = sync_locked(); !s.ok()) return s;
  Result<std::vector<Segment>> segments = list_segments(file_);
  if (!segments.ok()) return segments.status();
  std::vector<fs::path> files{file_};
  for (auto it = segments->rbegin(); it != segments->rend(); ++it) files.push_back(it->path);
  const JournalEntry* counted = index_.unwritten_repeat();
  std::int64_t previous = 0;
  bool more = true;
  for (const fs::path& f : files) {
    if (!more) break;
    Status s = for_each_newest(f, [&](JournalEntry&& e) {
      ++records_read_;
      if (e.seq == previous) return true;
      previous = e.seq;
      more =
          fn(counted != nullptr && e.seq == counted->seq ? JournalEntry(*counted) : std::move(e));
      return more;
    });
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

Result<std::vector<JournalEntry>> FileJournal::newest(std::size_t limit,
                                                      std::int64_t before_seq) const {
  std::vector<JournalEntry> out;
  if (limit == 0) return out;
  Status s = for_each_newest_record([&](JournalEntry&& e) {
    if (before_seq <= 0 || e.seq < before_seq) out.push_back(std::move(e));
    return out.size() < limit;
  });
  if (!s.ok()) return s;
  return out;
}

// Once per torn offset and per count of bad lines, so a loop re-reading every cycle warns once.
void FileJournal::warn_torn_once(const fs::path& file, std::size_t offset,
                                 std::size_t bytes) const {
  const auto at = static_cast<std::int64_t>(offset);
  if (warned_torn_at_.exchange(at) == at) return;
  spdlog::warn(
      "journal {}: the last line, at byte {} ({} bytes), is torn (an interrupted append): "
      "skipped, the records before it are kept, and the next append removes it",
      file.string(), offset, bytes);
}

void FileJournal::warn_corrupt_once(int count, const fs::path& file,
                                    std::size_t first_offset) const {
  if (warned_corrupt_.exchange(count) == count) return;
  spdlog::warn("journal {}: {} unreadable line{} skipped, the first at byte {}", file.string(),
               count, count == 1 ? "" : "s", first_offset);
}

}  // namespace dslmodel::journal

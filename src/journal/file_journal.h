// FileJournal: the decision journal as JSON Lines files (one compact JSON object per line), with
// an index and bounded history (docs/journal.md).
//
// Durability: append() returns ok only after the record and its newline are written with
// O_APPEND and fdatasync'ed; the file's directory is fsynced when the file is created. A crash
// (kill -9, power loss) leaves every acknowledged record readable and at most one torn last line,
// never acknowledged: readers skip it and warn once (file and byte offset), and the next append()
// cuts it off (or, when only its '\n' is missing, seals it), so the new record never follows
// garbage on one line.
//
// Bounded history: the file rotates into sealed segments ("journal.000000000001.jsonl") at
// cfg.segment_bytes, and retention removes old segments (JournalConfig). A skipped decision that
// repeats the previous record (same_skip) is counted on it: the index holds the count until the
// next record, before which the updated record is written again with the same seq (readers keep
// the last line of a seq). "<journal>.index" holds the fold of every record (HistoryFold) and how
// far into the active file it reaches, so summary() reads only what was appended since; an index
// that disagrees with the files (a crash between the two writes, a file replaced underneath) is
// rebuilt from the segments.
//
// The files and their directory are never followed through a symlink (O_NOFOLLOW, lstat): a
// journal linked to elsewhere is refused with kInvalidArgument naming the link.
//
// Concurrency: one FileJournal may be shared by threads (a mutex orders its calls). Appends from
// other FileJournal objects or other processes are serialized with an exclusive flock(2) on
// "<journal>.lock", so records never interleave and seq numbers are never reused; readers take
// it shared, so they never see a record being written.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <string_view>
#include <vector>

#include "dslmodel/config.h"
#include "dslmodel/journal.h"
#include "dslmodel/status.h"
#include "journal/file_io.h"
#include "journal/journal_index.h"
#include "journal/segments.h"

namespace dslmodel::journal {

class FileJournal final : public Journal {
 public:
  // JournalEntry::output is cut to its last this many bytes (at a UTF-8 boundary) on append.
  static constexpr std::size_t kMaxOutputBytes = std::size_t{16} * 1024;
  // A summary() that folded more records than this writes the index for the next reader.
  static constexpr std::int64_t kRewriteIndexAfter = 1000;

  // Does no I/O: the files and their parent directories are created by the first append().
  explicit FileJournal(std::filesystem::path file, JournalConfig cfg = {});
  ~FileJournal() override;

  // Assigns entry.seq = the newest seq + 1 (1 for a new journal) and appends the entry durably,
  // or counts it on the newest record when it repeats it (same_skip) and returns that record's
  // seq. Fails with kIo naming the file and the OS error; the record then may or may not be in
  // the file, but was not acknowledged. Blocks on disk and on the lock.
  Result<std::int64_t> append(JournalEntry entry) override;

  // Every readable record of the segments and the active file (oldest first). A missing file is
  // an empty journal. Lines that are not a valid record (a torn last line, garbage) are skipped,
  // counted in corrupt_lines() and warned about once (spdlog). Fails with kIo when a file exists
  // but cannot be read, kInvalidArgument when it or its directory is a symlink.
  Result<std::vector<JournalEntry>> read_all() const override;

  // From the index and the records appended since it was written.
  Result<JournalSummary> summary() const override;

  // Reads the files from their end, only as far as it needs.
  Result<std::vector<JournalEntry>> newest(std::size_t limit,
                                           std::int64_t before_seq = 0) const override;

  // Reads the files from their end.
  Result<std::vector<JournalEntry>> records_of(std::string_view decision_id) const override;

  // Lines the most recent read_all() skipped.
  int corrupt_lines() const { return corrupt_lines_.load(); }
  // Records parsed from the files since construction: what reading cost.
  std::int64_t records_read() const { return records_read_.load(); }

  const std::filesystem::path& path() const { return file_; }

 private:
  Status lock_file_locked(bool create) const;
  Status lock_shared_locked(bool create, std::optional<fileio::FileLock>& lock, bool* empty) const;
  Status open_locked();
  Status sync_locked() const;
  Status for_each_newest_record(const std::function<bool(JournalEntry&&)>& fn) const;
  Result<std::uint64_t> fold_file_locked(const std::filesystem::path& path, std::uint64_t from,
                                         bool active) const;
  Status fold_tail_locked(std::uint64_t from) const;
  Status rebuild_locked() const;
  Result<bool> repair_torn_tail_locked(std::uint64_t size);
  Status write_line_locked(const JournalEntry& entry);
  Status rotate_locked(TimePoint now);
  void remove_expired_locked(TimePoint now) const;
  Result<std::int64_t> count_repeat_locked(JournalEntry& entry);
  void warn_torn_once(const std::filesystem::path& file, std::size_t offset,
                      std::size_t bytes) const;
  void warn_corrupt_once(int count, const std::filesystem::path& file,
                         std::size_t first_offset) const;

  const std::filesystem::path file_;
  const JournalConfig cfg_;

  mutable std::mutex mu_;
  int fd_ = -1;                        // guarded by mu_; O_RDWR | O_APPEND | O_CLOEXEC
  mutable int lock_fd_ = -1;           // guarded by mu_; "<journal>.lock"
  mutable JournalIndex index_;         // guarded by mu_: what the files held when last synced
  mutable bool index_loaded_ = false;  // guarded by mu_

  mutable std::atomic<int> corrupt_lines_{0};
  mutable std::atomic<std::int64_t> records_read_{0};
  mutable std::atomic<std::int64_t> warned_torn_at_{-1};  // the torn offset last warned about
  mutable std::atomic<int> warned_corrupt_{0};            // the bad-line count last warned about
};

}  // namespace dslmodel::journal

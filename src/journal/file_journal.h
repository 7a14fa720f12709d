// FileJournal: the decision journal as a JSON Lines file (one compact JSON object per line).
//
// Durability: append() returns ok only after the record and its newline are written with
// O_APPEND and fdatasync'ed; the file's directory is fsynced when the file is created. A crash
// (kill -9, power loss) leaves every acknowledged record readable and at most one torn last line,
// never acknowledged: read_all() skips it and warns once (file and byte offset), and the next
// append() cuts it off (or, when only its '\n' is missing, seals it), so the new record never
// follows garbage on one line.
//
// The file and its directory are never followed through a symlink (O_NOFOLLOW, lstat): a journal
// linked to elsewhere is refused with kInvalidArgument naming the link.
//
// Concurrency: one FileJournal may be shared by threads (a mutex orders its appends). Appends
// from other FileJournal objects or other processes on the same file are serialized with an
// exclusive flock(2) on the file, so records never interleave and seq numbers are never reused;
// read_all() takes a shared flock, so it never sees a record being written.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <utility>
#include <vector>

#include "dslmodel/journal.h"
#include "dslmodel/status.h"

namespace dslmodel::journal {

class FileJournal final : public Journal {
 public:
  // JournalEntry::output is cut to its last this many bytes (at a UTF-8 boundary) on append.
  static constexpr std::size_t kMaxOutputBytes = std::size_t{16} * 1024;

  // Does no I/O: the file and its parent directories are created by the first append().
  explicit FileJournal(std::filesystem::path file);
  ~FileJournal() override;

  // Assigns entry.seq = the highest seq in the file + 1 (1 for a new file) and appends the entry
  // durably. Returns the seq. Fails with kIo naming the file and the OS error; the record then
  // may or may not be in the file, but was not acknowledged. Blocks on disk and on the file lock.
  Result<std::int64_t> append(JournalEntry entry) override;

  // Every readable record in file order (oldest first). A missing file is an empty journal.
  // Lines that are not a valid record (a torn last line, garbage) are skipped, counted in
  // corrupt_lines() and warned about once (spdlog). Fails with kIo when the file exists but
  // cannot be read, kInvalidArgument when it or its directory is a symlink.
  Result<std::vector<JournalEntry>> read_all() const override;

  // Lines the most recent read_all() skipped.
  int corrupt_lines() const { return corrupt_lines_.load(); }

  const std::filesystem::path& path() const { return file_; }

 private:
  Status open_locked();
  Status refresh_last_seq_locked(off_t size);
  Result<std::pair<off_t, bool>> repair_torn_tail_locked(off_t size);
  Status write_record_locked(JournalEntry& entry, off_t size);
  void warn_torn_once(std::size_t offset, std::size_t bytes) const;
  void warn_corrupt_once(int count, std::size_t first_offset) const;

  const std::filesystem::path file_;

  std::mutex mu_;
  int fd_ = -1;                // guarded by mu_; O_RDWR | O_APPEND | O_CLOEXEC
  off_t scanned_size_ = -1;    // guarded by mu_; bytes of the file already scanned for seqs
  std::int64_t last_seq_ = 0;  // guarded by mu_; highest seq in the first scanned_size_ bytes

  mutable std::atomic<int> corrupt_lines_{0};
  mutable std::atomic<std::int64_t> warned_torn_at_{-1};  // the torn offset last warned about
  mutable std::atomic<int> warned_corrupt_{0};            // the bad-line count last warned about
};

}  // namespace dslmodel::journal

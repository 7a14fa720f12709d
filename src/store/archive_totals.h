// Archived totals of a coordination directory (private to the dir backend).
//
// The truth is the set of batch directories archive/batch-*/ and the records they hold; the file
// .dsl/archive_totals.json only caches each batch's counts:
//   {"batches": {"<batch>": {"succeeded": n, "failed": n, "telemetry": n}}, "totals": {...}}
// Protocol, which keeps totals exact across crashes: a batch is in the cache only while its content
// is final. Whoever changes a batch directory holds the exclusive archive lock
// (flock on .dsl/archive.lock), removes the batch from the cache first, changes the directory, and
// then caches the new counts. A batch that is not in the cache is counted from its files.
// Readers hold the shared lock while they list the directory, so they never see a record in both
// places or in neither. Functions are thread-compatible; processes coordinate through the lock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "dslmodel/snapshot.h"
#include "dslmodel/status.h"

namespace dslmodel::store::detail {

inline constexpr std::string_view kArchiveDir = "archive";
inline constexpr std::string_view kBatchPrefix = "batch-";
inline constexpr std::string_view kStateDir = ".dsl";

// An flock(2) on <dir>/.dsl/archive.lock, released when destroyed. Move-only.
class ArchiveLock {
 public:
  // Shared lock; blocks. When the lock file does not exist (nothing was ever archived) or cannot
  // be opened, returns an unlocked lock: reading never creates files.
  static ArchiveLock shared(const std::filesystem::path& dir);
  // Exclusive lock, creating .dsl/ and the lock file. With `try_only` it does not wait and the
  // result may be unlocked. Fails with kIo when the file cannot be created.
  static Result<ArchiveLock> exclusive(const std::filesystem::path& dir, bool try_only);

  ArchiveLock(ArchiveLock&& other) noexcept;
  ArchiveLock& operator=(ArchiveLock&& other) noexcept;
  ArchiveLock(const ArchiveLock&) = delete;
  ArchiveLock& operator=(const ArchiveLock&) = delete;
  ~ArchiveLock();

  bool locked() const { return fd_ >= 0; }

 private:
  explicit ArchiveLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

// Counts the records in one batch directory the way measure counts them: completed files as
// succeeded or failed, telemetry files by their record count. Unreadable files count nothing.
ArchivedTotals count_batch(const std::filesystem::path& batch_dir, std::size_t max_file_size);

// The archived totals of `dir`. Sets `*uncached` when some batch was counted from its files.
// REQUIRES: the caller holds ArchiveLock::shared (or exclusive) for a consistent answer.
ArchivedTotals read_archived_totals(const std::filesystem::path& dir, std::size_t max_file_size,
                                    bool* uncached);

// read_archived_totals() for a store that reads again and again (a loop): the last totals are
// reused while neither archive/ (its inode, link count, mtime: a batch added or removed) nor the
// cache file (its inode, size, mtime: replaced whenever a batch changes) has changed, so a cycle
// does not pay for every batch ever archived. A read that counted a batch from its files is never
// reused.
class ArchivedTotalsMemo {
 public:
  ArchivedTotals read(const std::filesystem::path& dir, std::size_t max_file_size, bool* uncached);

 private:
  struct Stamp {
    std::uint64_t archive_ino = 0, archive_nlink = 0, cache_ino = 0, cache_size = 0;
    std::int64_t archive_mtime_ns = -1, cache_mtime_ns = -1;
    bool operator==(const Stamp&) const = default;
  };
  static Stamp stamp(const std::filesystem::path& dir);

  std::optional<Stamp> last_;
  ArchivedTotals totals_;
};

// Caches the counts of batches that are not cached yet, when the exclusive lock can be taken
// without waiting. Best-effort: errors are ignored. REQUIRES: no archive lock held by the caller.
void refresh_archive_cache(const std::filesystem::path& dir, std::size_t max_file_size);

// Sets (or, with `counts` == nullptr, removes) one batch in the cache and rewrites it atomically.
// REQUIRES: the exclusive lock held.
Status cache_put_batch(const std::filesystem::path& dir, std::string_view batch,
                       const ArchivedTotals* counts);

}  // namespace dslmodel::store::detail

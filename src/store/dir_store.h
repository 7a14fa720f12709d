// DirStore: the coordination directory of protocol v1 (docs/metrics.md) as a CoordinationStore.
//
// Reads only the directory's top level: agent_*.json, work_*.json, completed_*.json and
// telemetry_*.json (exact, case-sensitive). Everything else (dead_*, archive/, .dsl/, dot files)
// is ignored. Writes are atomic (temp file, fsync, rename, fsync of the directory) and nothing is
// ever deleted: given-up work becomes dead_<id>.json, compacted history moves under
// archive/batch-<unix_ms>-<pid>/, retried failures under archive/retried/.
//
// With cfg.watch (long-running use), snapshot() reads again only the files that inotify named
// since the previous call (store/dir_cache.h); the snapshot is the one a full read would give.
//
// Thread-safety: an instance is used by one thread at a time. Several processes may share one
// directory: records are replaced whole by renames, and archive bookkeeping is serialized by an
// flock on <dir>/.dsl/archive.lock (see store/archive_totals.h).
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "dslmodel/clock.h"
#include "dslmodel/config.h"
#include "dslmodel/store.h"
#include "store/archive_totals.h"

namespace dslmodel::store {

namespace detail {
class DirCache;
}

class DirStore final : public CoordinationStore {
 public:
  // `clock` stamps requeued_at, dead_at, created and batch names; nullptr means the system clock.
  // The clock, when given, must outlive the store. Touches no file: with cfg.watch, the first
  // snapshot() sets up the watch.
  explicit DirStore(std::filesystem::path dir, StoreConfig cfg = {}, const Clock* clock = nullptr);
  ~DirStore() override;

  // Reads every record of the top level, sorted by file name in each vector, and the archived
  // totals. Files that are symlinks, not regular, over cfg.max_file_size, unreadable or invalid
  // are listed in `rejected` (sorted by name) with the reason; a file that vanishes while being
  // read is skipped. Fails with kNotFound "coordination directory not found: <dir>" when the
  // directory does not exist, kIo when it is not a directory or cannot be listed. May create
  // .dsl/archive_totals.json to cache archive counts (best-effort), and nothing else.
  // Large directories are read on a few threads; the result does not depend on their number.
  Result<Snapshot> snapshot() override;

  // How many record files the last snapshot() read: all of them, or with cfg.watch those that
  // changed since the one before (all of them again after a full rescan).
  std::size_t files_read() const { return files_read_; }

  // Applies each action after re-reading its file; an action whose file vanished or whose
  // precondition no longer holds is skipped with a note. One apply() archives into one batch.
  // Fails with kNotFound when the directory does not exist.
  Result<RepairOutcome> apply(const std::vector<RepairAction>& actions) override;

  // Replays an inverse from apply(), newest element first. A step already undone is a no-op; a
  // step whose record has changed since (for example an item claimed again) is left alone and
  // reported: kConflict naming those files after every other step was done.
  Status undo(const nlohmann::json& inverse) override;

  // <dir>/.dsl, created by the first write that needs it, never by a read.
  std::string state_dir() const override;
  // The directory path.
  std::string describe() const override;

  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::filesystem::path dir_;
  StoreConfig cfg_;
  SystemClock system_clock_;
  const Clock* clock_;                       // never null
  std::unique_ptr<detail::DirCache> cache_;  // with cfg.watch and a nonzero rescan interval
  std::size_t files_read_ = 0;
  detail::ArchivedTotalsMemo archived_;
};

}  // namespace dslmodel::store

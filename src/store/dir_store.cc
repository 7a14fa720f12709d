// DirStore: snapshot() lists the top level once with readdir (d_type) and reads the records on a
// few threads (store/dir_read.h), or with cfg.watch only those that changed (store/dir_cache.h).
#include "store/dir_store.h"

#include <utility>

#include "store/archive_totals.h"
#include "store/dir_cache.h"
#include "store/dir_read.h"
#include "store/dir_repair.h"
#include "store/snapshot_build.h"

namespace dslmodel::store {
namespace {

namespace fs = std::filesystem;

// Lists and reads the top level. Fails only when the directory cannot be opened or listed.
Status read_top_level(const fs::path& dir, std::size_t max_size, Snapshot& snap,
                      std::size_t& files_read) {
  Result<platform::UniqueFd> fd = detail::open_directory(dir);
  if (!fd.ok()) return fd.status();
  Result<detail::Listing> listing = detail::list_record_files(fd->get());
  if (!listing.ok())
    return Status(ErrorCode::kIo, dir.string() + ": " + listing.status().message());
  const std::size_t files = listing->entries.size();
  detail::read_listing(fd->get(), *listing, max_size, detail::reader_threads(files), snap);
  files_read = files;
  return Status::Ok();
}

}  // namespace

DirStore::DirStore(fs::path dir, StoreConfig cfg, const Clock* clock)
    : dir_(std::move(dir)),
      cfg_(std::move(cfg)),
      clock_(clock != nullptr ? clock : &system_clock_) {
  if (cfg_.watch && cfg_.full_rescan_interval.count() > 0) {
    cache_ =
        std::make_unique<detail::DirCache>(dir_, cfg_.max_file_size, cfg_.full_rescan_interval);
  }
}

DirStore::~DirStore() = default;

Result<Snapshot> DirStore::snapshot() {
  Snapshot snap;
  snap.source = dir_.string();
  bool uncached = false;
  files_read_ = 0;
  {
    // Archiving processes hold the exclusive lock while they move records: with the shared lock
    // held, no record is seen both at the top level and in a batch, or in neither.
    detail::ArchiveLock lock = detail::ArchiveLock::shared(dir_);
    Status s = cache_ ? cache_->read(clock_->steady_now(), snap, files_read_)
                      : read_top_level(dir_, cfg_.max_file_size, snap, files_read_);
    if (!s.ok()) return s;
    snap.archived = archived_.read(dir_, cfg_.max_file_size, &uncached);
  }
  if (uncached) detail::refresh_archive_cache(dir_, cfg_.max_file_size);
  if (!cache_) detail::finish_snapshot(snap);  // the cache hands out finished records
  return snap;
}

Result<RepairOutcome> DirStore::apply(const std::vector<RepairAction>& actions) {
  return detail::apply_repairs({dir_, cfg_, *clock_}, actions);
}

Status DirStore::undo(const nlohmann::json& inverse) {
  return detail::undo_repairs({dir_, cfg_, *clock_}, inverse);
}

std::string DirStore::state_dir() const { return (dir_ / detail::kStateDir).string(); }

std::string DirStore::describe() const { return dir_.string(); }

}  // namespace dslmodel::store

// DirCache: the last snapshot's entries by file name, brought up to date from a DirWatch.
#include "store/dir_cache.h"

#include <spdlog/spdlog.h>

#include <utility>

#include "store/snapshot_build.h"

namespace dslmodel::store::detail {

DirCache::DirCache(std::filesystem::path dir, std::size_t max_file_size,
                   std::chrono::steady_clock::duration full_rescan_interval)
    : dir_(std::move(dir)), max_file_size_(max_file_size), rescan_every_(full_rescan_interval) {}

bool DirCache::full_read_due(std::chrono::steady_clock::time_point now) const {
  return full_due_ || !watch_.valid() || now - last_full_ >= rescan_every_;
}

bool DirCache::ensure_watch() {
  if (watch_.valid()) return true;
  Result<platform::DirWatch> w = platform::DirWatch::open(dir_);
  if (!w.ok()) {
    // A missing directory is the snapshot's error to report, and is watched once it exists.
    if (!warned_ && w.status().code() != ErrorCode::kNotFound) {
      spdlog::warn("{}: no change notifications ({}); every snapshot reads the whole directory",
                   dir_.string(), w.status().message());
      warned_ = true;
    }
    return false;
  }
  watch_ = std::move(w).value();
  full_due_ = true;  // what changed before the watch began is unknown
  return true;
}

std::vector<std::string> DirCache::take_changes() {
  Result<platform::DirChanges> changes = watch_.drain();
  if (!changes.ok()) {
    watch_ = platform::DirWatch();
    full_due_ = true;
    return {};
  }
  if (changes->overflow || changes->lost) full_due_ = true;
  return std::move(changes->names);
}

Status DirCache::read(std::chrono::steady_clock::time_point now, Snapshot& snap,
                      std::size_t& files_read) {
  files_read = 0;
  // The watch comes first: whatever changes after it is set up is named by its next events.
  std::vector<std::string> changed;
  if (ensure_watch()) {
    changed = take_changes();
    if (!watch_.valid()) ensure_watch();  // the directory was replaced: watch the new one
  }
  Result<platform::UniqueFd> dir = open_directory(dir_);
  if (!dir.ok()) {
    full_due_ = true;  // the changes just taken are read by the next full read
    return dir.status();
  }
  if (full_read_due(now)) {
    if (Status s = read_everything(dir->get(), now, snap, files_read); !s.ok()) return s;
  } else {
    files_read = read_changed(dir->get(), changed);
  }
  if (stale_) rebuild();
  snap.agents = built_.agents;
  snap.work = built_.work;
  snap.completed = built_.completed;
  snap.telemetry = built_.telemetry;
  snap.rejected = built_.rejected;
  snap.warnings = built_.warnings;
  if (!watch_.valid()) {  // nothing would tell what changed: keep nothing
    entries_.clear();
    built_ = Snapshot();
    stale_ = true;
  }
  return Status::Ok();
}

void DirCache::rebuild() {
  built_ = Snapshot();
  for (const auto& [name, entry] : entries_) add_entry(entry, built_);
  finish_snapshot(built_);
  stale_ = false;
}

Status DirCache::read_everything(int dir_fd, std::chrono::steady_clock::time_point now,
                                 Snapshot& snap, std::size_t& files_read) {
  Result<Listing> listing = list_record_files(dir_fd);
  if (!listing.ok()) {
    return Status(ErrorCode::kIo, dir_.string() + ": " + listing.status().message());
  }
  std::vector<std::optional<FileEntry>> read = read_listing_entries(
      dir_fd, *listing, max_file_size_, reader_threads(listing->entries.size()));
  entries_.clear();
  for (std::size_t i = 0; i < read.size(); ++i) {
    if (!read[i]) continue;
    entries_.emplace(listing->name(listing->entries[i]), std::move(*read[i]));
  }
  files_read = listing->entries.size();
  stale_ = true;
  last_full_ = now;
  full_due_ = listing->partial;  // an incomplete listing is completed by the next full read
  if (listing->partial) snap.partial = true;
  return Status::Ok();
}

std::size_t DirCache::read_changed(int dir_fd, const std::vector<std::string>& names) {
  std::size_t read = 0;
  RecordReader reader(max_file_size_);
  for (const std::string& name : names) {
    if (name.empty() || name.front() == '.' || !kind_of_file(name)) continue;
    stale_ = true;
    std::optional<unsigned char> type = entry_type(dir_fd, name.c_str());
    std::optional<FileEntry> entry;
    if (type) {
      ++read;
      entry = read_entry(dir_fd, name.c_str(), *type, reader);
    }
    if (entry) {
      entries_.insert_or_assign(name, std::move(*entry));
    } else if (auto it = entries_.find(name); it != entries_.end()) {
      entries_.erase(it);
    }
  }
  return read;
}

}  // namespace dslmodel::store::detail

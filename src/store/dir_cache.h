// The incremental read of a watched coordination directory (private to DirStore, for long-running
// use: docs/performance.md, "Incremental snapshots"). It keeps what every record file contributed
// to the last snapshot and, on the next one, reads again only the files that inotify named since;
// everything is read again when the kernel dropped events, when the watch ended or could not be
// set up, and every `full_rescan_interval`. The records it adds equal what a full read adds.
// Not thread-safe: one snapshot at a time, like DirStore.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <map>
#include <string>

#include "dslmodel/snapshot.h"
#include "dslmodel/status.h"
#include "platform/inotify.h"
#include "store/dir_read.h"

namespace dslmodel::store::detail {

class DirCache {
 public:
  DirCache(std::filesystem::path dir, std::size_t max_file_size,
           std::chrono::steady_clock::duration full_rescan_interval);

  // Sets the top level's records, rejections and warnings in `snap`, finished (see
  // snapshot_build.h), and `files_read` to the number of record files read. Fails as
  // open_directory() does, or with kIo when the directory cannot be listed.
  // REQUIRES: the shared archive lock held (store/archive_totals.h).
  Status read(std::chrono::steady_clock::time_point now, Snapshot& snap, std::size_t& files_read);

  // Whether the next read() reads everything.
  bool full_read_due(std::chrono::steady_clock::time_point now) const;

 private:
  // Sets up the watch when there is none; false (after one warning) when it cannot be.
  bool ensure_watch();
  // Takes the queued changes: the names to read again, or a full read when events were lost.
  std::vector<std::string> take_changes();
  Status read_everything(int dir_fd, std::chrono::steady_clock::time_point now, Snapshot& snap,
                         std::size_t& files_read);
  // Makes built_ from entries_.
  void rebuild();
  // Reads the named entries again; returns how many were there to read.
  std::size_t read_changed(int dir_fd, const std::vector<std::string>& names);

  std::filesystem::path dir_;
  std::size_t max_file_size_;
  std::chrono::steady_clock::duration rescan_every_;
  platform::DirWatch watch_;
  std::map<std::string, FileEntry, std::less<>> entries_;  // by file name
  Snapshot built_;     // the entries, finished: what read() hands out while nothing changes
  bool stale_ = true;  // entries_ changed since built_ was made
  bool full_due_ = true;
  std::chrono::steady_clock::time_point last_full_{};
  bool warned_ = false;
};

}  // namespace dslmodel::store::detail

// What changed in one directory's top level since the last look, from Linux inotify(7).
// Not thread-safe: one owner at a time, like the descriptor it holds.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "dslmodel/status.h"
#include "platform/unique_fd.h"

namespace dslmodel::platform {

// The names events spoke of since the previous drain(), each once, in no particular order.
struct DirChanges {
  std::vector<std::string> names;
  // The kernel dropped events (IN_Q_OVERFLOW): any entry may have changed.
  bool overflow = false;
  // The watch ended: the directory was removed, moved away or unmounted. No more events come.
  bool lost = false;
};

// A watch on the entries directly in one directory (not below it): created, written and closed,
// renamed in or out, removed, or whose attributes (permissions) changed. Never blocks.
class DirWatch {
 public:
  // Watches `dir`. Fails with kNotFound when it does not exist, kIo with the OS error otherwise
  // (not a directory, no inotify instance or watch left: fs.inotify.max_user_*).
  static Result<DirWatch> open(const std::filesystem::path& dir);

  DirWatch() = default;

  // The changes queued since the previous call; empty when there are none. Fails with kIo when
  // the descriptor cannot be read; the caller should then treat everything as changed.
  Result<DirChanges> drain();

  bool valid() const { return fd_.valid(); }

 private:
  explicit DirWatch(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

}  // namespace dslmodel::platform

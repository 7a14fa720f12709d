// Item locks: every read-modify-write of one work item (claim, finish, release, requeue, and the
// engine's repairs of it) runs under an exclusive flock(2) on a striped lock file
// <dir>/.dsl/locks/<NN>.lock, NN = stripe of the item's id (64 stripes). Readers never lock:
// records are replaced whole by atomic renames.
//
// All the files of one item (work_<id>, completed_<id>, dead_<id>) share the lock of its id.
// flock locks belong to an open file description: two ItemLocks objects exclude each other even
// in one process, but a descriptor inherited across fork() shares the lock with the parent, so a
// child process must build its own ItemLocks (descriptors are close-on-exec).
// Thread-compatible: one ItemLocks is used by one thread at a time.
#pragma once

#include <array>
#include <filesystem>
#include <string_view>

#include "dslmodel/status.h"

namespace dslmodel::store::detail {

inline constexpr int kLockStripes = 64;

// The stripe of an item id: FNV-1a of "work_<id>.json", modulo kLockStripes. Stable across
// processes and builds (part of the directory protocol).
int lock_stripe(std::string_view item_id);

// The lock files of one coordination directory; opened lazily and kept open.
class ItemLocks {
 public:
  // A held lock; released when destroyed. Move-only.
  class Guard {
   public:
    Guard(Guard&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
    Guard& operator=(Guard&& other) noexcept;
    Guard(const Guard&) = delete;
    Guard& operator=(const Guard&) = delete;
    ~Guard();

   private:
    friend class ItemLocks;
    explicit Guard(int fd) : fd_(fd) {}
    int fd_ = -1;  // not owned: the ItemLocks keeps it open
  };

  // Touches no file.
  explicit ItemLocks(std::filesystem::path dir);
  ItemLocks(const ItemLocks&) = delete;
  ItemLocks& operator=(const ItemLocks&) = delete;
  ~ItemLocks();

  // Takes the exclusive lock of `item_id`, creating .dsl/locks/ and the lock file when needed.
  // Blocks until it is free. Fails with kIo when the lock file cannot be opened or locked.
  // REQUIRES: the returned guard is destroyed before this object.
  Result<Guard> lock(std::string_view item_id);

  // Like lock(), but never waits: kConflict "busy" while another holder has the stripe.
  Result<Guard> try_lock(std::string_view item_id);

 private:
  Result<Guard> acquire(std::string_view item_id, bool wait);
  Result<int> fd_for(int stripe);

  std::filesystem::path dir_;
  std::array<int, kLockStripes> fds_;  // -1 until opened
};

}  // namespace dslmodel::store::detail

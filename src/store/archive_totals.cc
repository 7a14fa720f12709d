// Archived totals: batch directories are the truth, .dsl/archive_totals.json a cache of them.
#include "store/archive_totals.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>
#include <utility>
#include <vector>

#include "core/json_text.h"
#include "platform/files.h"
#include "store/record_parse.h"
#include "store/repair_plan.h"

namespace dslmodel::store::detail {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using BatchMap = std::map<std::string, ArchivedTotals, std::less<>>;

constexpr std::size_t kMaxCacheSize = 64u << 20;

fs::path cache_path(const fs::path& dir) { return dir / kStateDir / "archive_totals.json"; }

fs::path lock_path(const fs::path& dir) { return dir / kStateDir / "archive.lock"; }

void add(ArchivedTotals& into, const ArchivedTotals& more) {
  into.succeeded += more.succeeded;
  into.failed += more.failed;
  into.telemetry += more.telemetry;
}

std::int64_t int_member(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_number_integer() ? it->get<std::int64_t>() : 0;
}

// The cached batches; empty when the cache is missing or unreadable (everything is recounted).
BatchMap load_cache(const fs::path& dir) {
  BatchMap out;
  Result<std::string> text = platform::read_file_limited(cache_path(dir), kMaxCacheSize);
  if (!text.ok()) return out;
  json doc = parse_json_or_discarded(*text);
  if (!doc.is_object()) return out;
  auto batches = doc.find("batches");
  if (batches == doc.end() || !batches->is_object()) return out;
  for (const auto& [name, v] : batches->items()) {
    if (!v.is_object()) continue;
    ArchivedTotals t;
    t.succeeded = int_member(v, "succeeded");
    t.failed = int_member(v, "failed");
    t.telemetry = int_member(v, "telemetry");
    out.emplace(name, t);
  }
  return out;
}

json counts_json(const ArchivedTotals& t) {
  return {{"succeeded", t.succeeded}, {"failed", t.failed}, {"telemetry", t.telemetry}};
}

Status store_cache(const fs::path& dir, const BatchMap& batches) {
  json doc = {{"batches", json::object()}};
  ArchivedTotals totals;
  for (const auto& [name, t] : batches) {
    doc["batches"][name] = counts_json(t);
    add(totals, t);
  }
  doc["totals"] = counts_json(totals);
  if (Status s = platform::ensure_state_directory(dir / kStateDir); !s.ok()) return s;
  return platform::atomic_write_file(cache_path(dir), dump_json(doc));
}

// Names of the batch directories under archive/, in no particular order.
std::vector<std::string> list_batches(const fs::path& dir) {
  std::vector<std::string> out;
  fs::path archive = dir / kArchiveDir;
  DIR* d = ::opendir(archive.c_str());
  if (d == nullptr) return out;
  while (dirent* e = ::readdir(d)) {
    std::string_view name = e->d_name;
    if (!name.starts_with(kBatchPrefix)) continue;
    bool is_dir = e->d_type == DT_DIR;
    if (e->d_type == DT_UNKNOWN) {
      struct stat st {};
      is_dir =
          ::fstatat(::dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
    }
    if (is_dir) out.emplace_back(name);
  }
  ::closedir(d);
  return out;
}

}  // namespace

ArchiveLock ArchiveLock::shared(const fs::path& dir) {
  int fd = ::open(lock_path(dir).c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return ArchiveLock(-1);
  while (::flock(fd, LOCK_SH) != 0) {
    if (errno != EINTR) {
      ::close(fd);
      return ArchiveLock(-1);
    }
  }
  return ArchiveLock(fd);
}

Result<ArchiveLock> ArchiveLock::exclusive(const fs::path& dir, bool try_only) {
  if (Status s = platform::ensure_state_directory(dir / kStateDir); !s.ok()) return s;
  fs::path path = lock_path(dir);
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0 && errno == ELOOP) return platform::symlink_refused(path);
  if (fd < 0) return Status(ErrorCode::kIo, path.string() + ": " + std::strerror(errno));
  int how = LOCK_EX | (try_only ? LOCK_NB : 0);
  while (::flock(fd, how) != 0) {
    int err = errno;
    if (err == EINTR) continue;
    ::close(fd);
    if (err == EWOULDBLOCK && try_only) return ArchiveLock(-1);
    return Status(ErrorCode::kIo, path.string() + ": " + std::strerror(err));
  }
  return ArchiveLock(fd);
}

ArchiveLock::ArchiveLock(ArchiveLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

ArchiveLock& ArchiveLock::operator=(ArchiveLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

ArchiveLock::~ArchiveLock() {
  if (fd_ >= 0) ::close(fd_);
}

ArchivedTotals count_batch(const fs::path& batch_dir, std::size_t max_file_size) {
  ArchivedTotals t;
  DIR* d = ::opendir(batch_dir.c_str());
  if (d == nullptr) return t;
  std::string buf;
  while (dirent* e = ::readdir(d)) {
    std::string_view name = e->d_name;
    std::optional<RecordKind> kind = kind_of_file(name);
    if (!kind || (*kind != RecordKind::kCompleted && *kind != RecordKind::kTelemetry)) continue;
    if (!platform::read_file_at(::dirfd(d), e->d_name, max_file_size, buf).ok()) continue;
    if (Result<ArchivedTotals> add = plan::archived_counts(name, buf); add.ok()) {
      plan::add_totals(t, *add);
    }
  }
  ::closedir(d);
  return t;
}

ArchivedTotals read_archived_totals(const fs::path& dir, std::size_t max_file_size,
                                    bool* uncached) {
  ArchivedTotals totals;
  std::vector<std::string> batches = list_batches(dir);
  if (batches.empty()) return totals;
  BatchMap cache = load_cache(dir);
  for (const std::string& b : batches) {
    auto it = cache.find(b);
    if (it != cache.end()) {
      add(totals, it->second);
      continue;
    }
    add(totals, count_batch(dir / kArchiveDir / b, max_file_size));
    if (uncached != nullptr) *uncached = true;
  }
  return totals;
}

ArchivedTotalsMemo::Stamp ArchivedTotalsMemo::stamp(const fs::path& dir) {
  Stamp s;
  struct stat st {};
  if (::stat((dir / kArchiveDir).c_str(), &st) == 0) {
    s.archive_ino = st.st_ino;
    s.archive_nlink = st.st_nlink;
    s.archive_mtime_ns = st.st_mtim.tv_sec * 1'000'000'000LL + st.st_mtim.tv_nsec;
  }
  if (::stat(cache_path(dir).c_str(), &st) == 0) {
    s.cache_ino = st.st_ino;
    s.cache_size = static_cast<std::uint64_t>(st.st_size);
    s.cache_mtime_ns = st.st_mtim.tv_sec * 1'000'000'000LL + st.st_mtim.tv_nsec;
  }
  return s;
}

ArchivedTotals ArchivedTotalsMemo::read(const fs::path& dir, std::size_t max_file_size,
                                        bool* uncached) {
  const Stamp now = stamp(dir);
  if (last_ && *last_ == now) return totals_;
  bool counted = false;
  totals_ = read_archived_totals(dir, max_file_size, &counted);
  if (uncached != nullptr && counted) *uncached = true;
  if (counted) {
    last_.reset();
  } else {
    last_ = now;
  }
  return totals_;
}

void refresh_archive_cache(const fs::path& dir, std::size_t max_file_size) {
  Result<ArchiveLock> lock = ArchiveLock::exclusive(dir, /*try_only=*/true);
  if (!lock.ok() || !lock->locked()) return;
  BatchMap cache = load_cache(dir);
  BatchMap fresh;
  for (const std::string& b : list_batches(dir)) {
    auto it = cache.find(b);
    fresh[b] = it != cache.end() ? it->second : count_batch(dir / kArchiveDir / b, max_file_size);
  }
  (void)store_cache(dir, fresh);
}

Status cache_put_batch(const fs::path& dir, std::string_view batch, const ArchivedTotals* counts) {
  BatchMap cache = load_cache(dir);
  if (counts != nullptr) {
    cache[std::string(batch)] = *counts;
  } else if (auto it = cache.find(batch); it != cache.end()) {
    cache.erase(it);
  }
  return store_cache(dir, cache);
}

}  // namespace dslmodel::store::detail

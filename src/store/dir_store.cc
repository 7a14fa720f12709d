// DirStore: snapshot() lists the top level once with readdir (d_type), opens each record relative
// to the directory descriptor, reads it into one reused buffer and keeps only compact records.
#include "store/dir_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include <fmt/format.h>

#include "platform/files.h"
#include "store/archive_totals.h"
#include "store/dir_repair.h"
#include "store/record_parse.h"

namespace dslmodel::store {
namespace {

namespace fs = std::filesystem;

template <typename T>
void sort_by_file(std::vector<T>& records) {
  std::sort(records.begin(), records.end(),
            [](const T& a, const T& b) { return a.file < b.file; });
}

template <typename T>
void keep(Result<T>&& parsed, std::string_view name, std::vector<T>& into, Snapshot& snap) {
  if (parsed.ok()) {
    into.push_back(std::move(parsed).value());
  } else {
    snap.rejected.push_back({std::string(name), parsed.status().message()});
  }
}

// Reads one directory entry into the snapshot. `buf` is scratch space reused across files.
void read_entry(int dir_fd, const dirent& e, std::size_t max_size, std::string& buf,
                Snapshot& snap) {
  std::string_view name = e.d_name;
  if (name.empty() || name.front() == '.') return;
  std::optional<RecordKind> kind = kind_of_file(name);
  if (!kind) return;
  if (e.d_type == DT_LNK) {
    snap.rejected.push_back({std::string(name), "symlink"});
    return;
  }
  Status read = platform::read_file_at(dir_fd, e.d_name, max_size, buf);
  if (!read.ok()) {
    // A record renamed away between listing and opening (claimed, archived) is simply gone.
    if (read.code() != ErrorCode::kNotFound) snap.rejected.push_back({std::string(name), read.message()});
    return;
  }
  switch (*kind) {
    case RecordKind::kAgent:
      keep(parse_agent(name, buf), name, snap.agents, snap);
      break;
    case RecordKind::kWork:
      keep(parse_work(name, buf), name, snap.work, snap);
      break;
    case RecordKind::kCompleted:
      keep(parse_completed(name, buf), name, snap.completed, snap);
      break;
    case RecordKind::kTelemetry:
      keep(parse_telemetry(name, buf), name, snap.telemetry, snap);
      break;
  }
}

Status open_error(const fs::path& dir, int err) {
  if (err == ENOENT) {
    return {ErrorCode::kNotFound, fmt::format("coordination directory not found: {}", dir.string())};
  }
  if (err == ENOTDIR) return {ErrorCode::kIo, fmt::format("{}: not a directory", dir.string())};
  return {ErrorCode::kIo, fmt::format("{}: {}", dir.string(), std::strerror(err))};
}

// Lists and reads the top level. Fails only when the directory cannot be opened.
Status read_top_level(const fs::path& dir, std::size_t max_size, Snapshot& snap) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return open_error(dir, errno);
  DIR* d = ::fdopendir(fd);
  if (d == nullptr) {
    int err = errno;
    ::close(fd);
    return open_error(dir, err);
  }
  std::string buf;
  buf.reserve(4096);
  for (;;) {
    errno = 0;
    dirent* e = ::readdir(d);
    if (e == nullptr) {
      if (errno != 0) snap.partial = true;
      break;
    }
    read_entry(fd, *e, max_size, buf, snap);
  }
  ::closedir(d);
  return Status::Ok();
}

}  // namespace

DirStore::DirStore(fs::path dir, StoreConfig cfg, const Clock* clock)
    : dir_(std::move(dir)), cfg_(cfg), clock_(clock != nullptr ? clock : &system_clock_) {}

Result<Snapshot> DirStore::snapshot() {
  Snapshot snap;
  snap.source = dir_.string();
  bool uncached = false;
  {
    // Archiving processes hold the exclusive lock while they move records: with the shared lock
    // held, no record is seen both at the top level and in a batch, or in neither.
    detail::ArchiveLock lock = detail::ArchiveLock::shared(dir_);
    if (Status s = read_top_level(dir_, cfg_.max_file_size, snap); !s.ok()) return s;
    snap.archived = detail::read_archived_totals(dir_, cfg_.max_file_size, &uncached);
  }
  if (uncached) detail::refresh_archive_cache(dir_, cfg_.max_file_size);
  sort_by_file(snap.agents);
  sort_by_file(snap.work);
  sort_by_file(snap.completed);
  sort_by_file(snap.telemetry);
  std::sort(snap.rejected.begin(), snap.rejected.end(),
            [](const RejectedFile& a, const RejectedFile& b) { return a.name < b.name; });
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

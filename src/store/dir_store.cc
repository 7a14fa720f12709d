// DirStore: snapshot() lists the top level once with readdir (d_type), opens each record relative
// to the directory descriptor, reads it into one reused buffer and keeps only compact records.
#include "store/dir_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <utility>

#include "core/json_text.h"
#include "platform/files.h"
#include "store/archive_totals.h"
#include "store/dir_repair.h"
#include "store/record_parse.h"
#include "store/snapshot_build.h"

namespace dslmodel::store {
namespace {

namespace fs = std::filesystem;

using detail::keep_record;

// Reads records relative to a directory descriptor into one reused buffer. For an entry that
// readdir reports as a regular file it costs openat, one read and close: a short read of a
// regular file ends it, and a read that fills max_size + 1 bytes proves the file too large.
class RecordReader {
 public:
  explicit RecordReader(std::size_t max_size) : max_(max_size) {}

  // The file's bytes, valid until the next call; the error message is the rejection reason.
  Result<std::string_view> read(int dir_fd, const dirent& e) {
    if (e.d_type != DT_REG || max_ > kMaxBuffer) {
      Status s = platform::read_file_at(dir_fd, e.d_name, max_, other_);
      if (!s.ok()) return s;
      return std::string_view(other_);
    }
    if (!buf_) buf_ = std::make_unique<char[]>(max_ + 1);
    int fd = ::openat(dir_fd, e.d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) return fail(errno);
    ssize_t n = 0;
    do {
      n = ::read(fd, buf_.get(), max_ + 1);
    } while (n < 0 && errno == EINTR);
    int err = errno;
    ::close(fd);
    if (n < 0) return fail(err);
    if (static_cast<std::size_t>(n) > max_) {
      return Status(ErrorCode::kInvalidArgument,
                    fmt::format("over the size limit ({} bytes)", max_));
    }
    return std::string_view(buf_.get(), static_cast<std::size_t>(n));
  }

 private:
  static constexpr std::size_t kMaxBuffer = 64u << 20;

  static Status fail(int err) {
    if (err == ELOOP) return {ErrorCode::kInvalidArgument, "symlink"};
    return {err == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIo, std::strerror(err)};
  }

  std::size_t max_;
  std::unique_ptr<char[]> buf_;  // max_ + 1 bytes, allocated once, untouched pages stay free
  std::string other_;
};

bool is_special(unsigned char d_type) {
  return d_type == DT_DIR || d_type == DT_FIFO || d_type == DT_SOCK || d_type == DT_CHR ||
         d_type == DT_BLK;
}

// Reads one directory entry into the snapshot.
void read_entry(int dir_fd, const dirent& e, RecordReader& reader, Snapshot& snap) {
  std::string_view name = e.d_name;
  if (name.empty() || name.front() == '.') return;
  std::optional<RecordKind> kind = kind_of_file(name);
  if (!kind) return;
  if (std::optional<std::string> why = file_name_problem(name)) {
    snap.rejected.push_back({valid_utf8(name), std::move(*why)});
    return;
  }
  if (e.d_type == DT_LNK || is_special(e.d_type)) {
    snap.rejected.push_back(
        {std::string(name), e.d_type == DT_LNK ? "symlink" : "not a regular file"});
    return;
  }
  Result<std::string_view> bytes = reader.read(dir_fd, e);
  if (!bytes.ok()) {
    // A record renamed away between listing and opening (claimed, archived) is simply gone.
    if (bytes.status().code() != ErrorCode::kNotFound) {
      snap.rejected.push_back({std::string(name), bytes.status().message()});
    }
    return;
  }
  switch (*kind) {
    case RecordKind::kAgent:
      keep_record(parse_agent(name, *bytes), name, snap.agents, snap);
      break;
    case RecordKind::kWork:
      keep_record(parse_work(name, *bytes), name, snap.work, snap);
      break;
    case RecordKind::kCompleted:
      keep_record(parse_completed(name, *bytes), name, snap.completed, snap);
      break;
    case RecordKind::kTelemetry:
      keep_record(parse_telemetry(name, *bytes), name, snap.telemetry, snap);
      break;
  }
}

Status open_error(const fs::path& dir, int err) {
  if (err == ENOENT) {
    return {ErrorCode::kNotFound,
            fmt::format("coordination directory not found: {}", dir.string())};
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
  RecordReader reader(max_size);
  for (;;) {
    errno = 0;
    dirent* e = ::readdir(d);
    if (e == nullptr) {
      if (errno != 0) snap.partial = true;
      break;
    }
    read_entry(fd, *e, reader, snap);
  }
  ::closedir(d);
  return Status::Ok();
}

}  // namespace

DirStore::DirStore(fs::path dir, StoreConfig cfg, const Clock* clock)
    : dir_(std::move(dir)),
      cfg_(std::move(cfg)),
      clock_(clock != nullptr ? clock : &system_clock_) {}

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
  detail::finish_snapshot(snap);
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

// The directory backend's reads: one entry at a time, or a listing on a few threads.
#include "store/dir_read.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <iterator>
#include <system_error>
#include <thread>
#include <utility>

#include "core/json_text.h"
#include "platform/files.h"
#include "store/snapshot_build.h"

namespace dslmodel::store::detail {
namespace {

// Entries a thread takes at a time: large enough that the shared counter is rarely touched.
constexpr std::size_t kChunk = 256;
// Below this many entries per extra thread, starting it costs more than it saves.
constexpr std::size_t kFilesPerThread = 2048;
constexpr int kMaxThreads = 4;

Status read_error(int err) {
  if (err == ELOOP) return {ErrorCode::kInvalidArgument, "symlink"};
  return {err == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIo, std::strerror(err)};
}

bool is_special(unsigned char d_type) {
  return d_type == DT_DIR || d_type == DT_FIFO || d_type == DT_SOCK || d_type == DT_CHR ||
         d_type == DT_BLK;
}

FileEntry parsed_entry(RecordKind kind, std::string_view name, std::string_view bytes) {
  auto entry = [name](auto parsed) -> FileEntry {
    if (!parsed.ok()) return RejectedFile{std::string(name), parsed.status().message()};
    return std::move(parsed).value();
  };
  switch (kind) {
    case RecordKind::kAgent:
      return entry(parse_agent(name, bytes));
    case RecordKind::kWork:
      return entry(parse_work(name, bytes));
    case RecordKind::kCompleted:
      return entry(parse_completed(name, bytes));
    case RecordKind::kTelemetry:
      break;
  }
  return entry(parse_telemetry(name, bytes));
}

template <typename T>
std::vector<T>& records_of(Snapshot& snap);
template <>
std::vector<AgentRecord>& records_of(Snapshot& snap) {
  return snap.agents;
}
template <>
std::vector<WorkRecord>& records_of(Snapshot& snap) {
  return snap.work;
}
template <>
std::vector<CompletedRecord>& records_of(Snapshot& snap) {
  return snap.completed;
}
template <>
std::vector<TelemetryRecord>& records_of(Snapshot& snap) {
  return snap.telemetry;
}

// Runs fn(i, reader, worker) for every i in [0, n) on up to `threads` threads, this one
// included; each worker has its own reader. Fewer threads run when some cannot be started.
template <typename Fn>
void parallel_read(std::size_t n, std::size_t max_size, int threads, const Fn& fn) {
  std::atomic<std::size_t> next{0};
  auto work = [&](int worker) {
    RecordReader reader(max_size);
    for (;;) {
      const std::size_t begin = next.fetch_add(kChunk, std::memory_order_relaxed);
      if (begin >= n) return;
      const std::size_t end = std::min(n, begin + kChunk);
      for (std::size_t i = begin; i < end; ++i) fn(i, reader, worker);
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) {
    try {
      pool.emplace_back(work, t);
    } catch (const std::system_error&) {
      break;  // the threads already started and this one read everything
    }
  }
  work(0);
  for (std::thread& t : pool) t.join();
}

// Where each listed entry's record goes in its kind's list, and how long each list is.
struct Slots {
  std::vector<std::uint32_t> slot;  // per listed entry
  std::size_t count[4] = {0, 0, 0, 0};
};

Slots slots_of(const Listing& listing) {
  Slots s;
  s.slot.reserve(listing.entries.size());
  for (const Listing::Entry& e : listing.entries) {
    s.slot.push_back(static_cast<std::uint32_t>(s.count[static_cast<int>(e.kind)]++));
  }
  return s;
}

// What one worker found besides records.
struct Extras {
  std::vector<RejectedFile> rejected;
  std::vector<FileWarning> warnings;
};

// Drops the slots of entries that were rejected or vanished (left default: no file name).
template <typename T>
void drop_empty(std::vector<T>& records) {
  std::erase_if(records, [](const T& r) { return r.file.empty(); });
}

// Moves a read entry where read_listing() keeps it: a record to its slot, its warning and any
// rejection with the worker's extras.
void place(FileEntry& entry, std::uint32_t slot, Extras& x, Snapshot& snap) {
  std::visit(
      [&](auto& r) {
        using T = std::decay_t<decltype(r)>;
        if constexpr (std::is_same_v<T, RejectedFile>) {
          x.rejected.push_back(std::move(r));
        } else {
          if (!r.warning.empty()) x.warnings.push_back({r.file, std::move(r.warning)});
          r.warning.clear();
          records_of<T>(snap)[slot] = std::move(r);
        }
      },
      entry);
}

}  // namespace

Result<std::string_view> RecordReader::read(int dir_fd, const char* name, unsigned char d_type) {
  if (d_type != DT_REG || max_ > kMaxBuffer) {
    Status s = platform::read_file_at(dir_fd, name, max_, other_);
    if (!s.ok()) return s;
    return std::string_view(other_);
  }
  if (!buf_) buf_ = std::make_unique<char[]>(max_ + 1);
  int fd = ::openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) return read_error(errno);
  ssize_t n = 0;
  do {
    n = ::read(fd, buf_.get(), max_ + 1);
  } while (n < 0 && errno == EINTR);
  int err = errno;
  ::close(fd);
  if (n < 0) return read_error(err);
  if (static_cast<std::size_t>(n) > max_) {
    return Status(ErrorCode::kInvalidArgument, fmt::format("over the size limit ({} bytes)", max_));
  }
  return std::string_view(buf_.get(), static_cast<std::size_t>(n));
}

std::optional<FileEntry> read_entry(int dir_fd, const char* name, unsigned char d_type,
                                    RecordReader& reader) {
  std::string_view n = name;
  if (n.empty() || n.front() == '.') return std::nullopt;
  std::optional<RecordKind> kind = kind_of_file(n);
  if (!kind) return std::nullopt;
  if (std::optional<std::string> why = file_name_problem(n)) {
    return RejectedFile{valid_utf8(n), std::move(*why)};
  }
  if (d_type == DT_LNK || is_special(d_type)) {
    return RejectedFile{std::string(n), d_type == DT_LNK ? "symlink" : "not a regular file"};
  }
  Result<std::string_view> bytes = reader.read(dir_fd, name, d_type);
  if (!bytes.ok()) {
    // A record renamed away between listing and opening (claimed, archived) is simply gone.
    if (bytes.status().code() == ErrorCode::kNotFound) return std::nullopt;
    return RejectedFile{std::string(n), bytes.status().message()};
  }
  return parsed_entry(*kind, n, *bytes);
}

void add_entry(const FileEntry& entry, Snapshot& snap) {
  std::visit(
      [&snap](const auto& e) {
        using T = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<T, RejectedFile>) {
          snap.rejected.push_back(e);
        } else {
          if (!e.warning.empty()) snap.warnings.push_back({e.file, e.warning});
          records_of<T>(snap).push_back(e);
          records_of<T>(snap).back().warning.clear();
        }
      },
      entry);
}

std::optional<unsigned char> entry_type(int dir_fd, const char* name) {
  struct stat st {};
  if (::fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
    // Anything but "gone" is left for the read to report, as a listing would.
    return errno == ENOENT ? std::nullopt : std::optional<unsigned char>(DT_UNKNOWN);
  }
  switch (st.st_mode & S_IFMT) {
    case S_IFREG:
      return DT_REG;
    case S_IFLNK:
      return DT_LNK;
    case S_IFDIR:
      return DT_DIR;
    case S_IFIFO:
      return DT_FIFO;
    case S_IFSOCK:
      return DT_SOCK;
    case S_IFCHR:
      return DT_CHR;
    case S_IFBLK:
      return DT_BLK;
    default:
      return DT_UNKNOWN;
  }
}

Result<platform::UniqueFd> open_directory(const std::filesystem::path& dir) {
  platform::UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.valid()) return fd;
  const int err = errno;
  if (err == ENOENT) {
    return Status(ErrorCode::kNotFound,
                  fmt::format("coordination directory not found: {}", dir.string()));
  }
  if (err == ENOTDIR)
    return Status(ErrorCode::kIo, fmt::format("{}: not a directory", dir.string()));
  return Status(ErrorCode::kIo, fmt::format("{}: {}", dir.string(), std::strerror(err)));
}

Result<Listing> list_record_files(int dir_fd) {
  int fd = ::openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR* d = fd < 0 ? nullptr : ::fdopendir(fd);
  if (d == nullptr) {
    const int err = errno;
    if (fd >= 0) ::close(fd);
    return Status(ErrorCode::kIo, std::strerror(err));
  }
  Listing out;
  for (;;) {
    errno = 0;
    const dirent* e = ::readdir(d);
    if (e == nullptr) {
      out.partial = errno != 0;
      break;
    }
    std::string_view name = e->d_name;
    if (name.empty() || name.front() == '.') continue;
    std::optional<RecordKind> kind = kind_of_file(name);
    if (!kind) continue;
    out.entries.push_back({static_cast<std::uint32_t>(out.names.size()), e->d_type, *kind});
    out.names.append(name);
    out.names.push_back('\0');
  }
  ::closedir(d);
  return out;
}

int reader_threads(std::size_t files) {
  const auto cores = static_cast<std::size_t>(std::max(1u, std::thread::hardware_concurrency()));
  const std::size_t by_size = 1 + files / kFilesPerThread;
  return static_cast<int>(std::min({cores, by_size, static_cast<std::size_t>(kMaxThreads)}));
}

void read_listing(int dir_fd, const Listing& listing, std::size_t max_size, int threads,
                  Snapshot& snap) {
  const Slots slots = slots_of(listing);
  snap.agents.resize(slots.count[static_cast<int>(RecordKind::kAgent)]);
  snap.work.resize(slots.count[static_cast<int>(RecordKind::kWork)]);
  snap.completed.resize(slots.count[static_cast<int>(RecordKind::kCompleted)]);
  snap.telemetry.resize(slots.count[static_cast<int>(RecordKind::kTelemetry)]);
  std::vector<Extras> extras(static_cast<std::size_t>(std::max(threads, 1)));
  // Each entry writes only its own slot, so the workers share the lists without a lock.
  parallel_read(listing.entries.size(), max_size, threads,
                [&](std::size_t i, RecordReader& reader, int worker) {
                  const Listing::Entry& e = listing.entries[i];
                  std::optional<FileEntry> entry =
                      read_entry(dir_fd, listing.name(e), e.type, reader);
                  if (!entry) return;
                  place(*entry, slots.slot[i], extras[static_cast<std::size_t>(worker)], snap);
                });
  drop_empty(snap.agents);
  drop_empty(snap.work);
  drop_empty(snap.completed);
  drop_empty(snap.telemetry);
  for (Extras& x : extras) {
    std::move(x.rejected.begin(), x.rejected.end(), std::back_inserter(snap.rejected));
    std::move(x.warnings.begin(), x.warnings.end(), std::back_inserter(snap.warnings));
  }
  if (listing.partial) snap.partial = true;
}

std::vector<std::optional<FileEntry>> read_listing_entries(int dir_fd, const Listing& listing,
                                                           std::size_t max_size, int threads) {
  std::vector<std::optional<FileEntry>> out(listing.entries.size());
  parallel_read(out.size(), max_size, threads, [&](std::size_t i, RecordReader& reader, int) {
    const Listing::Entry& e = listing.entries[i];
    out[i] = read_entry(dir_fd, listing.name(e), e.type, reader);
  });
  return out;
}

}  // namespace dslmodel::store::detail

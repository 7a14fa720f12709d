// How the directory backend reads its top level (private to DirStore): what one entry contributes
// to a snapshot, the listing, and reading many entries on a few threads. The one-shot read and
// the incremental one (store/dir_cache.h) both go through read_entry(), so they agree file by
// file (docs/performance.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "dslmodel/snapshot.h"
#include "dslmodel/status.h"
#include "platform/unique_fd.h"
#include "store/record_parse.h"

namespace dslmodel::store::detail {

// What one record file contributes: a record (with its warning, if any) or a rejection.
using FileEntry =
    std::variant<RejectedFile, AgentRecord, WorkRecord, CompletedRecord, TelemetryRecord>;

// Reads records relative to a directory descriptor into one reused buffer. For an entry that
// readdir reports as a regular file it costs openat, one read and close: a short read of a
// regular file ends it, and a read that fills max_size + 1 bytes proves the file too large.
// One per thread.
class RecordReader {
 public:
  explicit RecordReader(std::size_t max_size) : max_(max_size) {}

  // The file's bytes, valid until the next call; the error message is the rejection reason.
  Result<std::string_view> read(int dir_fd, const char* name, unsigned char d_type);

 private:
  static constexpr std::size_t kMaxBuffer = 64u << 20;

  std::size_t max_;
  std::unique_ptr<char[]> buf_;  // max_ + 1 bytes, allocated once, untouched pages stay free
  std::string other_;
};

// What the top-level entry `name` (NUL-terminated), of readdir type `d_type`, contributes;
// nullopt when it is no record file (kind_of_file, dot files) or vanished before it was read.
std::optional<FileEntry> read_entry(int dir_fd, const char* name, unsigned char d_type,
                                    RecordReader& reader);

// Adds an entry to the snapshot as the one-shot read does: the record to its list and its warning
// to snap.warnings, or the rejection to snap.rejected.
void add_entry(const FileEntry& entry, Snapshot& snap);

// The readdir type of `name` in `dir_fd` from fstatat without following a symlink; nullopt when
// it does not exist.
std::optional<unsigned char> entry_type(int dir_fd, const char* name);

// Opens the coordination directory for reading. Fails with kNotFound "coordination directory
// not found: <dir>", kIo "<dir>: not a directory" or "<dir>: <OS error>".
Result<platform::UniqueFd> open_directory(const std::filesystem::path& dir);

// The record files of the top level, as readdir lists them: names in one buffer.
struct Listing {
  struct Entry {
    std::uint32_t offset = 0;  // of the NUL-terminated name in `names`
    unsigned char type = 0;    // readdir's d_type
    RecordKind kind = RecordKind::kAgent;
  };
  std::string names;
  std::vector<Entry> entries;
  bool partial = false;  // readdir failed part way

  const char* name(const Entry& e) const { return names.data() + e.offset; }
};

// Lists the entries of `dir_fd` for which kind_of_file() holds (dot files skipped).
// Fails with kIo when the descriptor cannot be listed.
Result<Listing> list_record_files(int dir_fd);

// How many threads read `files` entries: one for a small directory, at most 4.
int reader_threads(std::size_t files);

// Reads every listed entry into the snapshot (unfinished: see snapshot_build.h) on `threads`
// threads; the result does not depend on their number.
void read_listing(int dir_fd, const Listing& listing, std::size_t max_size, int threads,
                  Snapshot& snap);

// Reads every listed entry on `threads` threads: out[i] is read_entry() of listing.entries[i].
std::vector<std::optional<FileEntry>> read_listing_entries(int dir_fd, const Listing& listing,
                                                           std::size_t max_size, int threads);

}  // namespace dslmodel::store::detail

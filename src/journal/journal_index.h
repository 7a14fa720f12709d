// The index of a file journal (docs/journal.md, "Bounded history"): the fold of every record
// appended (HistoryFold) and how far into the active file it reaches, in "<journal>.index", so
// that a reader learns the gate's inputs without reading the journal. The journal is the truth:
// an index that is missing, unreadable or does not match the active file is rebuilt from the
// segments. Private to src/journal.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>

#include "dslmodel/status.h"
#include "journal/history.h"

namespace dslmodel::journal {

struct JournalIndex {
  HistoryFold fold;
  // The active file the fold reaches into: its inode, its first record's seq and its size then.
  // first_seq 0: no active file (just rotated) and every record is in a sealed segment.
  std::uint64_t active_inode = 0;
  std::int64_t active_first_seq = 0;
  std::uint64_t active_size = 0;
  // The fold's last record was counted again (JournalEntry::repeats) since it was written: the
  // journal writes the updated record before the next one.
  bool repeat_unwritten = false;
  // The highest seq of any line seen, a valid record or not: the next record's seq is above it.
  std::int64_t highest_seq = 0;

  // The newest record as counted in the index only (repeat_unwritten), which readers show in
  // place of its line; nullptr when the files hold it as it is.
  const JournalEntry* unwritten_repeat() const { return repeat_unwritten ? fold.last() : nullptr; }
};

// "<journal>.index".
std::filesystem::path index_path(const std::filesystem::path& journal);

// The index, or nullopt when it is missing or not a valid index.
std::optional<JournalIndex> read_index(const std::filesystem::path& journal);

// Replaces the index atomically and durably.
Status write_index(const std::filesystem::path& journal, const JournalIndex& index);

}  // namespace dslmodel::journal

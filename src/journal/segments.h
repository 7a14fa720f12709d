// The files of a file journal (docs/journal.md, "Bounded history"): the active file it appends
// to ("journal.jsonl"), the sealed segments it rotated into ("journal.000000000001.jsonl", named
// after their first seq, so that name order is seq order), and how their lines are read.
// Private to src/journal.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dslmodel/config.h"
#include "dslmodel/journal.h"
#include "dslmodel/status.h"

namespace dslmodel::journal {

struct Segment {
  std::filesystem::path path;
  std::int64_t first_seq = 0;
  std::uint64_t bytes = 0;
};

// "<dir>/journal.jsonl", 7 → "<dir>/journal.000000000007.jsonl".
std::filesystem::path segment_path(const std::filesystem::path& active, std::int64_t first_seq);

// The sealed segments beside `active`, oldest first. A missing directory has none.
Result<std::vector<Segment>> list_segments(const std::filesystem::path& active);

// The records of a file's lines, oldest first. A line with the seq of the line before it
// replaces it (a skipped record counted again). Lines that are not records are counted: a last
// line without '\n' as torn, any other as corrupt.
struct ParsedLines {
  std::vector<JournalEntry> entries;
  int corrupt = 0;
  std::optional<std::size_t> first_corrupt;  // byte offset
  std::optional<std::size_t> torn_at;        // byte offset
  // The highest integer "seq" of any JSON object line, a record or not (one with an unknown
  // outcome, say): a seq is never reused.
  std::int64_t highest_seq = 0;
};
ParsedLines parse_lines(std::string_view data);

// Calls fn(line) for every line of data, including a last line without '\n'.
void for_each_line(std::string_view data, const std::function<void(std::string_view)>& fn);

// Reads the records of `path` from its end in blocks, calling fn(entry) newest first until it
// returns false. Of lines sharing a seq, only the last is passed. A missing file has none;
// lines that are not records are skipped.
Status for_each_newest(const std::filesystem::path& path,
                       const std::function<bool(JournalEntry&&)>& fn);

// The sealed segments retention removes once a record at `now` is appended (oldest first):
// those whose newest record is older than cfg.max_age, and the oldest while all files together
// exceed cfg.max_bytes. `newest_at[i]` is the time of segments[i]'s newest record (nullopt:
// unreadable, judged by size alone). The active file is never removed.
std::vector<std::size_t> expired_segments(const std::vector<Segment>& segments,
                                          const std::vector<std::optional<TimePoint>>& newest_at,
                                          std::uint64_t active_bytes, const JournalConfig& cfg,
                                          TimePoint now);

}  // namespace dslmodel::journal

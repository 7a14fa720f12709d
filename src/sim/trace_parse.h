// What the trace file parsers share, private to src/sim (the formats: sim/trace.h,
// docs/simulate.md): the text helpers, arrival times (seconds or ISO-8601, never both in one
// trace), the TraceBuilder that collects events line by line and checks what spans lines, and
// the two format readers, JSON lines (trace_jsonl.cc) and CSV (trace_csv.cc). Pure; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "dslmodel/status.h"
#include "sim/trace.h"

namespace dslmodel::sim::detail {

// kInvalidArgument "line N: what".
Status line_error(std::size_t line, std::string_view what);

std::string_view trim(std::string_view s);
// A CSV field: trimmed, and without one pair of surrounding double quotes.
std::string_view unquote(std::string_view s);
std::string lower(std::string_view s);

struct Line {
  std::size_t number = 0;  // 1-based
  std::string_view text;   // trimmed
};

// The lines that carry content: blank lines and '#' comments are dropped, "\r\n" tolerated.
std::vector<Line> content_lines(std::string_view text);

// The comma-separated fields of a CSV line, each unquote()d.
std::vector<std::string_view> split_fields(std::string_view line);

// A whole string as a finite number; nullopt otherwise (from_chars also reads "inf" and "nan").
std::optional<double> to_double(std::string_view s);
std::optional<std::int64_t> to_int(std::string_view s);

// An arrival time: seconds or an absolute ISO-8601 time.
struct Stamp {
  bool iso = false;
  double seconds = 0.0;     // when !iso
  std::int64_t micros = 0;  // since the epoch, when iso; integers keep microseconds exact
};

// Seconds (a number) or an ISO-8601 time; nullopt for anything else.
std::optional<Stamp> stamp_from_text(std::string_view s);

// Collects events line by line and checks what spans lines (clock, ids), then builds the Trace.
class TraceBuilder {
 public:
  Status add_item(std::size_t line, const Stamp& at, double duration_s, std::int64_t priority,
                  std::string id);
  Status add_crash(std::size_t line, const Stamp& at, int agents);
  // kInvalidArgument when no item was added.
  Result<Trace> finish(std::string name) &&;

 private:
  Status check_clock(std::size_t line, const Stamp& at);
  Stamp earliest() const;
  void name_unnamed(std::vector<TraceItem>& items) const;

  std::vector<std::pair<Stamp, TraceItem>> items_;
  std::vector<std::pair<Stamp, CrashEvent>> crashes_;
  std::unordered_map<std::string, std::size_t> id_lines_;  // given ids -> line
  std::size_t clock_line_ = 0;                             // the first line with a time
  bool iso_ = false;
};

// The format readers. REQUIRES: `lines` is not empty (for CSV, the first is the header).
Status parse_json_lines(const std::vector<Line>& lines, TraceBuilder& b);
Status parse_csv(const std::vector<Line>& lines, TraceBuilder& b);

}  // namespace dslmodel::sim::detail

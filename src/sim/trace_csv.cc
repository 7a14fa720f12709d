// Workload traces in CSV (sim/trace.h): a header naming the columns, or the Azure LLM inference
// trace's header, whose rows become items by azure_service_seconds().
#include <fmt/format.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sim/trace_parse.h"

namespace dslmodel::sim::detail {
namespace {

struct Columns {
  std::vector<std::string> names;  // lower case

  std::optional<std::size_t> find(std::string_view name) const {
    const auto it = std::find(names.begin(), names.end(), name);
    if (it == names.end()) return std::nullopt;
    return static_cast<std::size_t>(it - names.begin());
  }
};

// The fields of a data row, checked to reach column `last`.
Result<std::vector<std::string_view>> row_fields(const Line& line, std::size_t last) {
  auto fields = split_fields(line.text);
  if (fields.size() <= last) {
    return line_error(line.number,
                      fmt::format("expected at least {} fields, got {}", last + 1, fields.size()));
  }
  return fields;
}

// The field of an optional column; empty when the column is absent or the row is short.
std::string_view optional_field(const std::vector<std::string_view>& fields,
                                std::optional<std::size_t> column) {
  if (!column || *column >= fields.size()) return {};
  return fields[*column];
}

Result<Stamp> csv_stamp(std::size_t line, std::string_view text, std::string_view column) {
  if (text.empty()) return line_error(line, fmt::format("missing \"{}\"", column));
  const auto stamp = stamp_from_text(text);
  if (!stamp) {
    return line_error(line, fmt::format("\"{}\" must be seconds or an ISO-8601 time", column));
  }
  return *stamp;
}

Status csv_row(const Line& line, const Columns& cols, std::size_t at_col, std::size_t dur_col,
               TraceBuilder& b) {
  auto fields = row_fields(line, std::max(at_col, dur_col));
  if (!fields.ok()) return fields.status();
  const auto at = csv_stamp(line.number, (*fields)[at_col], "at");
  if (!at.ok()) return at.status();
  const std::string_view dur = (*fields)[dur_col];
  if (dur.empty()) return line_error(line.number, "missing duration_s");
  const auto duration_s = to_double(dur);
  if (!duration_s || *duration_s <= 0.0) {
    return line_error(line.number, "duration_s must be a positive number");
  }
  std::int64_t priority = 0;
  if (const auto p = optional_field(*fields, cols.find("priority")); !p.empty()) {
    const auto v = to_int(p);
    if (!v) return line_error(line.number, "priority must be an integer");
    priority = *v;
  }
  std::string id(optional_field(*fields, cols.find("id")));
  return b.add_item(line.number, *at, *duration_s, priority, std::move(id));
}

Result<std::int64_t> token_count(const Line& line, std::string_view text, std::string_view what) {
  const auto v = to_int(text);
  if (!v || *v < 0)
    return line_error(line.number, fmt::format("{} must be a non-negative integer", what));
  return *v;
}

Status azure_row(const Line& line, std::size_t ts_col, std::size_t ctx_col, std::size_t gen_col,
                 TraceBuilder& b) {
  auto fields = row_fields(line, std::max({ts_col, ctx_col, gen_col}));
  if (!fields.ok()) return fields.status();
  const auto at = csv_stamp(line.number, (*fields)[ts_col], "TIMESTAMP");
  if (!at.ok()) return at.status();
  const auto context = token_count(line, (*fields)[ctx_col], "ContextTokens");
  if (!context.ok()) return context.status();
  const auto generated = token_count(line, (*fields)[gen_col], "GeneratedTokens");
  if (!generated.ok()) return generated.status();
  return b.add_item(line.number, *at, azure_service_seconds(*context, *generated), 0, "");
}

}  // namespace

Status parse_csv(const std::vector<Line>& lines, TraceBuilder& b) {
  Columns cols;
  for (const auto f : split_fields(lines.front().text)) cols.names.push_back(lower(f));
  const std::size_t header = lines.front().number;
  const auto at = cols.find("at");
  const auto dur = cols.find("duration_s");
  const auto ts = cols.find("timestamp");
  const auto ctx = cols.find("contexttokens");
  const auto gen = cols.find("generatedtokens");
  const bool azure = !at && ts && ctx && gen;
  if (!azure && !at) return line_error(header, "the CSV header has no \"at\" column");
  if (!azure && !dur) return line_error(header, "the CSV header has no \"duration_s\" column");
  for (std::size_t i = 1; i < lines.size(); ++i) {
    Status s =
        azure ? azure_row(lines[i], *ts, *ctx, *gen, b) : csv_row(lines[i], cols, *at, *dur, b);
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

}  // namespace dslmodel::sim::detail

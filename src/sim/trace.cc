// Workload traces: the text helpers and arrival times the parsers share, the TraceBuilder, and
// parse_trace/load_trace, which pick the format (trace_jsonl.cc, trace_csv.cc). The built-in
// traces are in builtin_traces.cc.
#include "sim/trace.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>
#include <utility>

#include "dslmodel/time.h"
#include "sim/trace_parse.h"

namespace dslmodel::sim {
namespace detail {

Status line_error(std::size_t line, std::string_view what) {
  return Status(ErrorCode::kInvalidArgument, fmt::format("line {}: {}", line, what));
}

std::string_view trim(std::string_view s) {
  constexpr std::string_view kSpace = " \t\r\n\f\v";
  const auto first = s.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(kSpace) - first + 1);
}

// A CSV field: trimmed, and without one pair of surrounding double quotes.
std::string_view unquote(std::string_view s) {
  s = trim(s);
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = trim(s.substr(1, s.size() - 2));
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// The lines that carry content: blank lines and '#' comments are dropped, "\r\n" tolerated.
std::vector<Line> content_lines(std::string_view text) {
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);  // UTF-8 BOM from spreadsheets
  std::vector<Line> lines;
  std::size_t number = 0;
  while (!text.empty()) {
    const auto end = text.find('\n');
    const auto raw = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
    ++number;
    const auto t = trim(raw);
    if (!t.empty() && t.front() != '#') lines.push_back({number, t});
  }
  return lines;
}

std::vector<std::string_view> split_fields(std::string_view line) {
  std::vector<std::string_view> fields;
  while (true) {
    const auto comma = line.find(',');
    fields.push_back(unquote(line.substr(0, comma)));
    if (comma == std::string_view::npos) return fields;
    line.remove_prefix(comma + 1);
  }
}

// A whole string as a finite number; nullopt otherwise (from_chars also reads "inf" and "nan").
std::optional<double> to_double(std::string_view s) {
  double v = 0.0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::optional<std::int64_t> to_int(std::string_view s) {
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<Stamp> stamp_from_text(std::string_view s) {
  s = trim(s);
  if (auto v = to_double(s)) return Stamp{false, *v, 0};
  const auto t = parse_iso8601(s);
  if (!t) return std::nullopt;
  using std::chrono::duration_cast;
  using std::chrono::microseconds;
  return Stamp{true, 0.0, duration_cast<microseconds>(t->time_since_epoch()).count()};
}

namespace {

double seconds_since(const Stamp& origin, const Stamp& at) {
  if (at.iso) return static_cast<double>(at.micros - origin.micros) / 1e6;
  return at.seconds - origin.seconds;
}

}  // namespace

Status TraceBuilder::add_item(std::size_t line, const Stamp& at, double duration_s,
                              std::int64_t priority, std::string id) {
  if (Status s = check_clock(line, at); !s.ok()) return s;
  if (!id.empty()) {
    const auto [it, inserted] = id_lines_.emplace(id, line);
    if (!inserted) {
      return line_error(line,
                        fmt::format("duplicate id \"{}\" (first on line {})", id, it->second));
    }
  }
  items_.emplace_back(at, TraceItem{0.0, duration_s, priority, std::move(id)});
  return Status::Ok();
}

Status TraceBuilder::add_crash(std::size_t line, const Stamp& at, int agents) {
  if (Status s = check_clock(line, at); !s.ok()) return s;
  crashes_.emplace_back(at, CrashEvent{0.0, agents});
  return Status::Ok();
}

Result<Trace> TraceBuilder::finish(std::string name) && {
  if (items_.empty()) {
    return Status(ErrorCode::kInvalidArgument, fmt::format("trace \"{}\" has no items", name));
  }
  Trace trace;
  trace.name = std::move(name);
  const Stamp origin = earliest();
  for (auto& [at, item] : items_) {
    item.at_s = seconds_since(origin, at);
    trace.items.push_back(std::move(item));
  }
  for (auto& [at, crash] : crashes_) {
    crash.at_s = seconds_since(origin, at);
    trace.crashes.push_back(crash);
  }
  std::stable_sort(trace.items.begin(), trace.items.end(),
                   [](const TraceItem& a, const TraceItem& b) { return a.at_s < b.at_s; });
  std::stable_sort(trace.crashes.begin(), trace.crashes.end(),
                   [](const CrashEvent& a, const CrashEvent& b) { return a.at_s < b.at_s; });
  name_unnamed(trace.items);
  return trace;
}

Status TraceBuilder::check_clock(std::size_t line, const Stamp& at) {
  if (clock_line_ == 0) {
    clock_line_ = line;
    iso_ = at.iso;
    return Status::Ok();
  }
  if (at.iso == iso_) return Status::Ok();
  return line_error(
      line, fmt::format("\"at\" is {} but line {} gave {}", at.iso ? "an ISO-8601 time" : "seconds",
                        clock_line_, iso_ ? "an ISO-8601 time" : "seconds"));
}

Stamp TraceBuilder::earliest() const {
  Stamp min = items_.front().first;
  const auto take = [&min](const Stamp& s) {
    if (s.iso ? s.micros < min.micros : s.seconds < min.seconds) min = s;
  };
  for (const auto& e : items_) take(e.first);
  for (const auto& e : crashes_) take(e.first);
  return min;
}

// "i<n>" with n the position in arrival order; a suffix avoids clashing with a given id.
void TraceBuilder::name_unnamed(std::vector<TraceItem>& items) const {
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (!items[i].id.empty()) continue;
    std::string id = fmt::format("i{}", i + 1);
    for (int k = 2; id_lines_.contains(id); ++k) id = fmt::format("i{}_{}", i + 1, k);
    items[i].id = std::move(id);
  }
}

}  // namespace detail

Result<Trace> parse_trace(std::string_view text, std::string name) {
  const std::vector<detail::Line> lines = detail::content_lines(text);
  detail::TraceBuilder builder;
  if (!lines.empty()) {
    const char first = lines.front().text.front();
    const bool json_lines = first == '{' || first == '[';
    Status s =
        json_lines ? detail::parse_json_lines(lines, builder) : detail::parse_csv(lines, builder);
    if (!s.ok()) return s;
  }
  return std::move(builder).finish(std::move(name));
}

Result<Trace> load_trace(const std::string& path) {
  std::error_code ec;
  const std::filesystem::path p(path);
  if (!std::filesystem::exists(p, ec)) {
    return Status(ErrorCode::kNotFound, fmt::format("trace file not found: {}", path));
  }
  if (std::filesystem::is_directory(p, ec)) {
    return Status(ErrorCode::kIo, fmt::format("trace file is a directory: {}", path));
  }
  std::ifstream in(p, std::ios::binary);
  if (!in) return Status(ErrorCode::kIo, fmt::format("cannot open trace file: {}", path));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Status(ErrorCode::kIo, fmt::format("cannot read trace file: {}", path));
  return parse_trace(text.str(), p.stem().string());
}

double azure_service_seconds(std::int64_t context_tokens, std::int64_t generated_tokens) {
  return 0.2 + 0.00005 * static_cast<double>(context_tokens) +
         0.02 * static_cast<double>(generated_tokens);
}

}  // namespace dslmodel::sim

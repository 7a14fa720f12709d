// Workload traces: parsing JSON lines and CSV files, and the built-in synthetic traces.
#include "sim/trace.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <numbers>
#include <optional>
#include <random>
#include <sstream>
#include <system_error>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "core/json_text.h"
#include "dslmodel/time.h"

namespace dslmodel::sim {
namespace {

using nlohmann::json;

constexpr double kItemSeconds = 0.5;

Status line_error(std::size_t line, std::string_view what) {
  return Status(ErrorCode::kInvalidArgument, fmt::format("line {}: {}", line, what));
}

// ---------------------------------------------------------------------------------------------
// Text helpers.

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

struct Line {
  std::size_t number = 0;  // 1-based
  std::string_view text;   // trimmed
};

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

// ---------------------------------------------------------------------------------------------
// Arrival times: seconds or absolute ISO-8601 times, never both in one trace.

struct Stamp {
  bool iso = false;
  double seconds = 0.0;     // when !iso
  std::int64_t micros = 0;  // since the epoch, when iso; integers keep microseconds exact
};

std::optional<Stamp> stamp_from_text(std::string_view s) {
  s = trim(s);
  if (auto v = to_double(s)) return Stamp{false, *v, 0};
  const auto t = parse_iso8601(s);
  if (!t) return std::nullopt;
  using std::chrono::duration_cast;
  using std::chrono::microseconds;
  return Stamp{true, 0.0, duration_cast<microseconds>(t->time_since_epoch()).count()};
}

std::optional<Stamp> stamp_from_json(const json& j) {
  if (j.is_number()) {
    const double v = j.get<double>();
    if (!std::isfinite(v)) return std::nullopt;
    return Stamp{false, v, 0};
  }
  if (j.is_string()) return stamp_from_text(j.get_ref<const std::string&>());
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// Collects events line by line and checks what spans lines (clock, ids), then builds the Trace.

class TraceBuilder {
 public:
  Status add_item(std::size_t line, const Stamp& at, double duration_s, std::int64_t priority,
                  std::string id) {
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

  Status add_crash(std::size_t line, const Stamp& at, int agents) {
    if (Status s = check_clock(line, at); !s.ok()) return s;
    crashes_.emplace_back(at, CrashEvent{0.0, agents});
    return Status::Ok();
  }

  Result<Trace> finish(std::string name) && {
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

 private:
  Status check_clock(std::size_t line, const Stamp& at) {
    if (clock_line_ == 0) {
      clock_line_ = line;
      iso_ = at.iso;
      return Status::Ok();
    }
    if (at.iso == iso_) return Status::Ok();
    return line_error(line, fmt::format("\"at\" is {} but line {} gave {}",
                                        at.iso ? "an ISO-8601 time" : "seconds", clock_line_,
                                        iso_ ? "an ISO-8601 time" : "seconds"));
  }

  Stamp earliest() const {
    Stamp min = items_.front().first;
    const auto take = [&min](const Stamp& s) {
      if (s.iso ? s.micros < min.micros : s.seconds < min.seconds) min = s;
    };
    for (const auto& e : items_) take(e.first);
    for (const auto& e : crashes_) take(e.first);
    return min;
  }

  static double seconds_since(const Stamp& origin, const Stamp& at) {
    if (at.iso) return static_cast<double>(at.micros - origin.micros) / 1e6;
    return at.seconds - origin.seconds;
  }

  // "i<n>" with n the position in arrival order; a suffix avoids clashing with a given id.
  void name_unnamed(std::vector<TraceItem>& items) const {
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (!items[i].id.empty()) continue;
      std::string id = fmt::format("i{}", i + 1);
      for (int k = 2; id_lines_.contains(id); ++k) id = fmt::format("i{}_{}", i + 1, k);
      items[i].id = std::move(id);
    }
  }

  std::vector<std::pair<Stamp, TraceItem>> items_;
  std::vector<std::pair<Stamp, CrashEvent>> crashes_;
  std::unordered_map<std::string, std::size_t> id_lines_;  // given ids -> line
  std::size_t clock_line_ = 0;                             // the first line with a time
  bool iso_ = false;
};

// ---------------------------------------------------------------------------------------------
// JSON lines.

std::optional<double> duration_from_json(const json& j) {
  std::optional<double> v;
  if (j.is_number()) v = j.get<double>();
  if (j.is_string()) v = to_double(trim(j.get_ref<const std::string&>()));
  if (!v || !std::isfinite(*v) || *v <= 0.0) return std::nullopt;
  return v;
}

// An integer, an integral float (3.0) or a numeric string.
std::optional<std::int64_t> int_from_json(const json& j) {
  if (j.is_number_unsigned()) {
    const auto v = j.get<std::uint64_t>();
    if (v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return std::nullopt;
    }
    return static_cast<std::int64_t>(v);
  }
  if (j.is_number_integer()) return j.get<std::int64_t>();
  if (j.is_number_float()) {
    const double v = j.get<double>();
    if (!std::isfinite(v) || std::trunc(v) != v || std::fabs(v) > 9e18) return std::nullopt;
    return static_cast<std::int64_t>(v);
  }
  if (j.is_string()) return to_int(trim(j.get_ref<const std::string&>()));
  return std::nullopt;
}

const json* field(const json& obj, const char* key) {
  const auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

Status json_crash(const json& obj, std::size_t line, const Stamp& at, TraceBuilder& b) {
  const auto agents = int_from_json(*field(obj, "crash"));
  if (!agents || *agents <= 0 || *agents > std::numeric_limits<int>::max()) {
    return line_error(line, "crash must be a positive integer (the number of agents)");
  }
  if (field(obj, "duration_s") != nullptr) {
    return line_error(line, "a crash line has no duration_s");
  }
  return b.add_crash(line, at, static_cast<int>(*agents));
}

Status json_item(const json& obj, std::size_t line, const Stamp& at, TraceBuilder& b) {
  const json* duration = field(obj, "duration_s");
  if (duration == nullptr) return line_error(line, "missing duration_s");
  const auto duration_s = duration_from_json(*duration);
  if (!duration_s) return line_error(line, "duration_s must be a positive number");
  std::int64_t priority = 0;
  if (const json* p = field(obj, "priority")) {
    const auto v = int_from_json(*p);
    if (!v) return line_error(line, "priority must be an integer");
    priority = *v;
  }
  std::string id;
  if (const json* i = field(obj, "id")) {
    if (i->is_string()) {
      id = i->get<std::string>();
    } else if (i->is_number_integer()) {
      id = i->dump();
    } else {
      return line_error(line, "id must be a string");
    }
  }
  return b.add_item(line, at, *duration_s, priority, std::move(id));
}

Status json_line(const Line& line, TraceBuilder& b) {
  const json obj = parse_json_or_discarded(line.text);
  if (obj.is_discarded()) return line_error(line.number, "not valid JSON");
  if (!obj.is_object()) return line_error(line.number, "expected a JSON object");
  const json* at = field(obj, "at");
  if (at == nullptr) return line_error(line.number, "missing \"at\"");
  const auto stamp = stamp_from_json(*at);
  if (!stamp) return line_error(line.number, "\"at\" must be seconds or an ISO-8601 time");
  if (field(obj, "crash") != nullptr) return json_crash(obj, line.number, *stamp, b);
  return json_item(obj, line.number, *stamp, b);
}

Status parse_json_lines(const std::vector<Line>& lines, TraceBuilder& b) {
  for (const Line& line : lines) {
    try {
      if (Status s = json_line(line, b); !s.ok()) return s;
    } catch (const json::exception& e) {  // get<> on an odd value; not expected
      return line_error(line.number, e.what());
    }
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------
// CSV.

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

// ---------------------------------------------------------------------------------------------
// Built-in traces. Own transforms of mt19937_64 so every standard library yields the same trace.

class Rng {
 public:
  explicit Rng(std::uint64_t seed) : gen_(seed) {}

  double uniform() { return static_cast<double>(gen_() >> 11) * 0x1.0p-53; }  // [0, 1)
  double exponential(double rate) { return -std::log(1.0 - uniform()) / rate; }

 private:
  std::mt19937_64 gen_;
};

// Non-homogeneous Poisson arrivals on [0, horizon) by thinning against max_rate. The first one
// comes after a random gap, as it would after any moment a controller looks: the swarm is at
// rest when the trace begins.
template <typename RateFn>
std::vector<double> poisson_arrivals(Rng& rng, double horizon_s, double max_rate, RateFn rate) {
  std::vector<double> times;
  double t = rng.exponential(max_rate);
  while (t < horizon_s) {
    if (rng.uniform() * max_rate < rate(t)) times.push_back(t);
    t += rng.exponential(max_rate);
  }
  return times;
}

void add_items(Trace& trace, const std::vector<double>& times, double duration_s) {
  for (const double t : times) trace.items.push_back(TraceItem{t, duration_s, 0, ""});
}

// Sorts (stable) and names the items "i1", "i2", ... in arrival order.
Trace finish_builtin(Trace trace) {
  std::stable_sort(trace.items.begin(), trace.items.end(),
                   [](const TraceItem& a, const TraceItem& b) { return a.at_s < b.at_s; });
  for (std::size_t i = 0; i < trace.items.size(); ++i) {
    trace.items[i].id = fmt::format("i{}", i + 1);
  }
  return trace;
}

Trace make_burst(std::uint64_t /*seed*/) {
  Trace trace{"burst", {}, {}};
  add_items(trace, std::vector<double>(120, 0.0), kItemSeconds);
  return finish_builtin(std::move(trace));
}

Trace make_steady(std::uint64_t seed) {
  Rng rng(seed);
  Trace trace{"steady", {}, {}};
  add_items(trace, poisson_arrivals(rng, 600.0, 1.0, [](double) { return 1.0; }), kItemSeconds);
  return finish_builtin(std::move(trace));
}

Trace make_spike(std::uint64_t /*seed*/) {
  Trace trace{"spike", {}, {}};
  std::vector<double> times;
  times.reserve(140);
  // Arrivals on the half second: the swarm is at rest when the trace begins.
  for (int s = 0; s < 60; ++s) times.push_back(static_cast<double>(s) + 0.5);
  times.insert(times.end(), 80, 20.0);
  add_items(trace, times, kItemSeconds);
  return finish_builtin(std::move(trace));
}

Trace make_ramp(std::uint64_t seed) {
  constexpr double kHorizon = 600.0, kFrom = 0.2, kTo = 12.0;
  Rng rng(seed);
  Trace trace{"ramp", {}, {}};
  const auto rate = [](double t) { return kFrom + (kTo - kFrom) * t / kHorizon; };
  add_items(trace, poisson_arrivals(rng, kHorizon, kTo, rate), kItemSeconds);
  return finish_builtin(std::move(trace));
}

Trace make_crash(std::uint64_t seed) {
  Trace trace = make_burst(seed);
  trace.name = "crash";
  trace.crashes.push_back(CrashEvent{5.0, 2});
  return trace;
}

// Starts at the trough (0.2/s) and peaks (6/s) at 15 and 45 minutes.
Trace make_diurnal(std::uint64_t seed) {
  constexpr double kHorizon = 3600.0, kPeriod = 1800.0, kLow = 0.2, kHigh = 6.0;
  Rng rng(seed);
  const auto rate = [](double t) {
    const double mid = (kHigh + kLow) / 2, amp = (kHigh - kLow) / 2;
    return mid - amp * std::cos(2 * std::numbers::pi * t / kPeriod);
  };
  const auto times = poisson_arrivals(rng, kHorizon, kHigh, rate);
  Trace trace{"diurnal", {}, {}};
  for (const double t : times) {
    const double duration = kItemSeconds * (0.5 + rng.uniform());  // ±50%
    trace.items.push_back(TraceItem{t, duration, 0, ""});
  }
  return finish_builtin(std::move(trace));
}

struct Builtin {
  std::string_view name;
  Trace (*make)(std::uint64_t seed);
};

constexpr std::array<Builtin, 6> kBuiltins = {{
    {"burst", &make_burst},
    {"steady", &make_steady},
    {"spike", &make_spike},
    {"ramp", &make_ramp},
    {"crash", &make_crash},
    {"diurnal", &make_diurnal},
}};

}  // namespace

Result<Trace> parse_trace(std::string_view text, std::string name) {
  const std::vector<Line> lines = content_lines(text);
  TraceBuilder builder;
  if (!lines.empty()) {
    const char first = lines.front().text.front();
    const bool json_lines = first == '{' || first == '[';
    Status s = json_lines ? parse_json_lines(lines, builder) : parse_csv(lines, builder);
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

Result<Trace> builtin_trace(std::string_view name, std::uint64_t seed) {
  for (const Builtin& b : kBuiltins) {
    if (b.name == name) return b.make(seed);
  }
  std::string names;
  for (const std::string& n : builtin_trace_names()) names += (names.empty() ? "" : ", ") + n;
  return Status(ErrorCode::kInvalidArgument,
                fmt::format("unknown trace \"{}\"; built-in traces: {}", name, names));
}

const std::vector<std::string>& builtin_trace_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    out.reserve(std::size(kBuiltins));
    for (const Builtin& b : kBuiltins) out.emplace_back(b.name);
    return out;
  }();
  return names;
}

}  // namespace dslmodel::sim

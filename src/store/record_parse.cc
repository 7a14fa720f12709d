// Record parsing with a SAX pass that keeps only the top-level fields a kind knows, so a snapshot
// of many small files builds no JSON trees. OTLP exports (nested spans) use the DOM parser.
#include "store/record_parse.h"

#include <fmt/format.h>

#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>

#include "dslmodel/time.h"
#include "store/json_scan.h"

namespace dslmodel::store {
namespace {

using json = nlohmann::json;

using detail::Field;
using detail::JType;

Status corrupt(std::string reason) { return {ErrorCode::kCorrupt, std::move(reason)}; }

// Scans `bytes`, keeping the members named in `keys`; the error is the rejection reason.
template <std::size_t N>
Status parse_top_level(std::string_view bytes, const std::array<std::string_view, N>& keys,
                       std::array<Field, N>& fields) {
  if (bytes.empty()) return corrupt("empty file");
  switch (detail::scan_top_level(bytes, keys.data(), N, fields.data())) {
    case detail::ScanResult::kObject:
      return Status::Ok();
    case detail::ScanResult::kNotObject:
      return corrupt("not a JSON object");
    case detail::ScanResult::kInvalid:
      break;
  }
  return corrupt("invalid JSON");
}

// Typed access to collected fields; remembers the first type error.
class Fields {
 public:
  Fields(const Field* fields, const std::string_view* names) : f_(fields), names_(names) {}

  Status status() const { return error_; }

  std::optional<std::string> str(int k) {
    const Field& f = f_[k];
    if (absent(f)) return std::nullopt;
    if (f.type == JType::kString) return f.s;
    fail(k, "a string");
    return std::nullopt;
  }
  // Strings, and integers written as numbers (ids).
  std::optional<std::string> id(int k) {
    const Field& f = f_[k];
    if (f.type == JType::kInt) return std::to_string(f.i);
    if (f.type == JType::kUnsigned) return std::to_string(f.u);
    return str(k);
  }
  std::optional<std::int64_t> integer(int k) {
    const Field& f = f_[k];
    if (absent(f)) return std::nullopt;
    if (f.type == JType::kInt) return f.i;
    if (f.type == JType::kUnsigned && f.u <= static_cast<std::uint64_t>(INT64_MAX)) {
      return static_cast<std::int64_t>(f.u);
    }
    if (f.type == JType::kFloat && std::trunc(f.d) == f.d && std::fabs(f.d) < 9e18) {
      return static_cast<std::int64_t>(f.d);
    }
    fail(k, "an integer");
    return std::nullopt;
  }
  std::optional<double> number(int k) {
    const Field& f = f_[k];
    if (absent(f)) return std::nullopt;
    if (f.type == JType::kInt) return static_cast<double>(f.i);
    if (f.type == JType::kUnsigned) return static_cast<double>(f.u);
    if (f.type == JType::kFloat) return f.d;
    fail(k, "a number");
    return std::nullopt;
  }
  // An ISO-8601 string or unix seconds. `invalid` is set for a string that does not parse.
  std::optional<TimePoint> time(int k, bool* invalid = nullptr) {
    const Field& f = f_[k];
    if (absent(f)) return std::nullopt;
    if (f.type == JType::kString) {
      auto t = parse_iso8601(f.s);
      if (!t && invalid != nullptr) *invalid = true;
      return t;
    }
    if (std::optional<double> secs = number_or_none(f)) {
      if (auto t = from_unix_seconds(*secs)) return t;
      if (invalid != nullptr) *invalid = true;
      return std::nullopt;
    }
    fail(k, "a string");
    return std::nullopt;
  }
  JType type(int k) const { return f_[k].type; }

 private:
  static bool absent(const Field& f) { return f.type == JType::kAbsent || f.type == JType::kNull; }
  static std::optional<double> number_or_none(const Field& f) {
    if (f.type == JType::kInt) return static_cast<double>(f.i);
    if (f.type == JType::kUnsigned) return static_cast<double>(f.u);
    if (f.type == JType::kFloat) return f.d;
    return std::nullopt;
  }
  void fail(int k, std::string_view what) {
    if (error_.ok()) error_ = corrupt(fmt::format("field \"{}\" is not {}", names_[k], what));
  }

  const Field* f_;
  const std::string_view* names_;
  Status error_;
};

std::string lower(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

std::int64_t clamp_to_int64(double v) {
  if (std::isnan(v)) return 0;
  if (v >= 9.2e18) return INT64_MAX;
  if (v <= -9.2e18) return INT64_MIN;
  return static_cast<std::int64_t>(v);
}

}  // namespace

std::optional<RecordKind> kind_of_file(std::string_view name) {
  constexpr std::string_view kSuffix = ".json";
  if (name.size() < kSuffix.size() || name.substr(name.size() - kSuffix.size()) != kSuffix) {
    return std::nullopt;
  }
  if (name.starts_with("agent_")) return RecordKind::kAgent;
  if (name.starts_with("work_")) return RecordKind::kWork;
  if (name.starts_with("completed_")) return RecordKind::kCompleted;
  if (name.starts_with("telemetry_")) return RecordKind::kTelemetry;
  return std::nullopt;
}

std::string_view id_from_file_name(std::string_view name) {
  std::size_t start = name.find('_');
  start = start == std::string_view::npos ? 0 : start + 1;
  std::size_t end = name.size() >= 5 ? name.size() - 5 : name.size();
  return start <= end ? name.substr(start, end - start) : std::string_view{};
}

Outcome completed_outcome(std::string_view status) {
  if (status.empty() || status == "completed" || status == "success" || status == "succeeded" ||
      status == "done") {
    return Outcome::kSucceeded;
  }
  if (status == "failed" || status == "error") return Outcome::kFailed;
  return Outcome::kOther;
}

Result<AgentRecord> parse_agent(std::string_view file_name, std::string_view bytes) {
  static constexpr std::array<std::string_view, 8> kKeys = {
      "id", "status", "heartbeat", "last_heartbeat", "pid", "host", "current_work", "created"};
  std::array<Field, kKeys.size()> fields;
  if (Status s = parse_top_level(bytes, kKeys, fields); !s.ok()) return s;
  Fields f(fields.data(), kKeys.data());
  AgentRecord r;
  r.file = file_name;
  r.id = f.id(0).value_or(std::string(id_from_file_name(file_name)));
  r.status = lower(f.str(1).value_or(""));
  int hb = f.type(2) != JType::kAbsent && f.type(2) != JType::kNull ? 2 : 3;
  r.heartbeat = f.time(hb, &r.heartbeat_invalid);
  r.pid = f.integer(4);
  r.host = f.str(5).value_or("");
  r.current_work = f.str(6).value_or("");
  if (!f.status().ok()) return f.status();
  Fields extra = f;  // the start time only feeds the capacity model: a bad one is ignored
  r.created = extra.time(7);
  return r;
}

Result<WorkRecord> parse_work(std::string_view file_name, std::string_view bytes) {
  static constexpr std::array<std::string_view, 9> kKeys = {
      "id",         "status",        "priority", "created",     "claimed_by",
      "claimed_at", "lease_expires", "attempts", "max_attempts"};
  std::array<Field, kKeys.size()> fields;
  if (Status s = parse_top_level(bytes, kKeys, fields); !s.ok()) return s;
  Fields f(fields.data(), kKeys.data());
  WorkRecord r;
  r.file = file_name;
  r.id = f.id(0).value_or(std::string(id_from_file_name(file_name)));
  r.status = lower(f.str(1).value_or(""));
  r.priority = clamp_to_int64(f.number(2).value_or(0));
  r.created = f.time(3);
  r.claimed_by = f.str(4).value_or("");
  r.claimed_at = f.time(5);
  r.lease_expires = f.time(6);
  r.attempts = f.integer(7).value_or(0);
  r.max_attempts = f.integer(8);
  if (!f.status().ok()) return f.status();
  return r;
}

Result<CompletedRecord> parse_completed(std::string_view file_name, std::string_view bytes) {
  static constexpr std::array<std::string_view, 10> kKeys = {
      "id",       "status",       "finished",    "command", "prompt",
      "attempts", "max_attempts", "duration_ms", "created", "claimed_at"};
  std::array<Field, kKeys.size()> fields;
  if (Status s = parse_top_level(bytes, kKeys, fields); !s.ok()) return s;
  Fields f(fields.data(), kKeys.data());
  CompletedRecord r;
  r.file = file_name;
  r.id = f.id(0).value_or(std::string(id_from_file_name(file_name)));
  r.status = lower(f.str(1).value_or(""));
  r.finished = f.time(2);
  if (!f.status().ok()) return f.status();
  bool payload = f.type(3) == JType::kArray || f.type(4) == JType::kString;
  Fields counts = f;  // attempts that are not integers make a record not retryable, not invalid
  std::optional<std::int64_t> attempts = counts.integer(5);
  std::optional<std::int64_t> max_attempts = counts.integer(6);
  r.retryable = completed_outcome(r.status) == Outcome::kFailed && payload && attempts &&
                max_attempts && counts.status().ok() && *attempts < *max_attempts;
  // Timings only feed the capacity model: wrong-typed ones are ignored, not fatal.
  Fields timing = f;
  if (std::optional<double> ms = timing.number(7); ms && *ms >= 0 && *ms < 1e12) {
    r.duration = std::chrono::milliseconds(std::llround(*ms));
  }
  r.created = timing.time(8);
  r.claimed_at = timing.time(9);
  return r;
}

namespace {

// startTimeUnixNano is a decimal string in OTLP/JSON, a number in some exporters.
std::optional<TimePoint> nanos_to_time(const json& v) {
  std::uint64_t ns = 0;
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), ns);
    if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  } else if (v.is_number_unsigned() || (v.is_number_integer() && v.get<std::int64_t>() >= 0)) {
    ns = v.get<std::uint64_t>();
  } else {
    return std::nullopt;
  }
  if (ns == 0 || ns > static_cast<std::uint64_t>(INT64_MAX)) return std::nullopt;
  auto d = std::chrono::nanoseconds(static_cast<std::int64_t>(ns));
  return TimePoint(std::chrono::duration_cast<TimePoint::duration>(d));
}

// Counts spans of an OTLP/JSON export; `first` gets the first span's start time.
std::int64_t count_otlp_spans(const json& resource_spans, std::optional<TimePoint>& first) {
  std::int64_t count = 0;
  for (const json& rs : resource_spans) {
    if (!rs.is_object()) continue;
    for (const char* scope_key : {"scopeSpans", "instrumentationLibrarySpans"}) {
      auto scopes = rs.find(scope_key);
      if (scopes == rs.end() || !scopes->is_array()) continue;
      for (const json& scope : *scopes) {
        if (!scope.is_object()) continue;
        auto spans = scope.find("spans");
        if (spans == scope.end() || !spans->is_array()) continue;
        for (const json& span : *spans) {
          if (!first && span.is_object()) {
            auto start = span.find("startTimeUnixNano");
            if (start != span.end()) first = nanos_to_time(*start);
          }
          ++count;
        }
      }
    }
  }
  return count;
}

}  // namespace

Result<TelemetryRecord> parse_telemetry(std::string_view file_name, std::string_view bytes) {
  static constexpr std::array<std::string_view, 3> kKeys = {"id", "timestamp", "resourceSpans"};
  std::array<Field, kKeys.size()> fields;
  if (Status s = parse_top_level(bytes, kKeys, fields); !s.ok()) return s;
  Fields f(fields.data(), kKeys.data());
  TelemetryRecord r;
  r.file = file_name;
  r.id = f.id(0).value_or(std::string(id_from_file_name(file_name)));
  r.timestamp = f.time(1);
  if (!f.status().ok()) return f.status();
  if (f.type(2) == JType::kArray) {
    json doc = json::parse(bytes.begin(), bytes.end(), nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) return corrupt("invalid JSON");
    std::optional<TimePoint> first;
    r.count = count_otlp_spans(*doc.find("resourceSpans"), first);
    if (!r.timestamp) r.timestamp = first;
  }
  return r;
}

}  // namespace dslmodel::store

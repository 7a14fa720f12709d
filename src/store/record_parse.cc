// Record parsing with a SAX pass that keeps only the top-level fields a kind knows, so a snapshot
// of many small files builds no JSON trees. OTLP exports (nested spans) use the DOM parser.
#include "store/record_parse.h"

#include <fmt/format.h>

#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "core/json_text.h"
#include "core/records.h"
#include "core/rules.h"
#include "dslmodel/time.h"
#include "store/json_scan.h"
#include "store/record_fields.h"
#include "store/work_item.h"

namespace dslmodel::store {
namespace {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;

using detail::Field;
using detail::JType;
using detail::ScanResult;

using detail::absent;
using detail::corrupt;
using detail::field_of;
using detail::Fields;
using detail::note_status;

Status scan_error(ScanResult r) {
  switch (r) {
    case ScanResult::kObject:
      break;
    case ScanResult::kNotObject:
      return corrupt("not a JSON object");
    case ScanResult::kTooDeep:
      return corrupt(too_deep_reason());
    case ScanResult::kBadUtf8:
      return corrupt("not valid UTF-8");
    case ScanResult::kInvalid:
      return corrupt("invalid JSON");
  }
  return Status::Ok();
}

// The members of one record: those a kind reads, and where numbers no double holds are.
template <std::size_t N>
struct TopLevel {
  std::array<Field, N> fields;
  std::vector<detail::OutOfRangeNumber> huge;
};

// Scans `bytes`, keeping the members named in `keys`; the error is the rejection reason.
template <std::size_t N>
Status parse_top_level(std::string_view bytes, const std::array<std::string_view, N>& keys,
                       TopLevel<N>& top) {
  if (bytes.empty()) return corrupt("empty file");
  return scan_error(detail::scan_top_level(bytes, keys.data(), N, top.fields.data(), &top.huge));
}

// A record's bytes scanned for the members named in `keys`, with typed access to them; `status`
// is the rejection reason when the scan fails.
template <std::size_t N>
struct Scanned {
  Scanned(std::string_view bytes, const std::array<std::string_view, N>& keys)
      : f(top.fields.data(), keys.data()) {
    status = parse_top_level(bytes, keys, top);
    if (status.ok()) f.note_huge(top.huge, N);
  }
  Scanned(const Scanned&) = delete;
  Scanned& operator=(const Scanned&) = delete;

  TopLevel<N> top;
  Fields f;
  Status status;
};

// How a kind judges its status: whether it knows it, and how an unknown one counts.
struct StatusRule {
  bool (*known)(std::string_view) = nullptr;
  std::string_view counts_as;
};

// The members every record begins with: `file`, `id` (member 0, else the file name's stem) and,
// for a kind with a status, `status` (member 1), noted when `rule` does not know it. The error is
// an essential field's.
template <typename Record>
Status read_head(std::string_view file_name, Fields& f, Record& r, const StatusRule& rule = {}) {
  constexpr bool kHasStatus = requires { r.status; };
  r.file = file_name;
  r.id = f.id(0).value_or(std::string(id_from_file_name(file_name)));
  if constexpr (kHasStatus) r.status = f.status(1);
  if (!f.status().ok()) return f.status();
  if constexpr (kHasStatus) note_status(f, r.status, rule.known(r.status), rule.counts_as);
  return Status::Ok();
}

constexpr std::array<std::string_view, 10> kWorkKeys = {
    "id",         "status",        "priority", "created",      "claimed_by",
    "claimed_at", "lease_expires", "attempts", "max_attempts", "timeout_s"};

Result<WorkRecord> work_from_fields(std::string_view file_name, const Field* fields,
                                    const std::vector<detail::OutOfRangeNumber>* huge) {
  Fields f(fields, kWorkKeys.data());
  if (huge != nullptr) f.note_huge(*huge, kWorkKeys.size());
  WorkRecord r;
  const StatusRule rule{::dslmodel::detail::is_known_work_status,
                        "counted in the queue, neither pending nor in progress"};
  if (Status s = read_head(file_name, f, r, rule); !s.ok()) return s;
  r.priority = f.priority(2);
  r.created = f.time(3);
  r.claimed_by = f.str(4).value_or("");
  r.claimed_at = f.time(5);
  r.lease_expires = f.time(6);
  r.attempts = f.integer(7, kAttemptsRange).value_or(0);
  r.max_attempts = f.integer(8, kMaxAttemptsRange);
  if (std::optional<double> t = f.number(9, kTimeoutRange)) {
    r.timeout_s = static_cast<std::int64_t>(std::ceil(*t));
  }
  r.warning = f.warning();
  return r;
}

}  // namespace

std::optional<RecordKind> kind_of_file(std::string_view name) {
  if (!name.ends_with(records::kRecordSuffix)) return std::nullopt;
  if (name.starts_with(records::kAgentPrefix)) return RecordKind::kAgent;
  if (name.starts_with(records::kWorkPrefix)) return RecordKind::kWork;
  if (name.starts_with(records::kCompletedPrefix)) return RecordKind::kCompleted;
  if (name.starts_with(records::kTelemetryPrefix)) return RecordKind::kTelemetry;
  return std::nullopt;
}

std::string_view id_from_file_name(std::string_view name) {
  std::size_t start = name.find('_');
  start = start == std::string_view::npos ? 0 : start + 1;
  std::size_t end = name.size() >= 5 ? name.size() - 5 : name.size();
  return start <= end ? name.substr(start, end - start) : std::string_view{};
}

std::optional<std::string> file_name_problem(std::string_view name) {
  if (!is_valid_utf8(name)) return "file name is not valid UTF-8";
  if (kind_of_file(name) == RecordKind::kWork &&
      !detail::valid_record_id(id_from_file_name(name))) {
    return "the id in the file name is not 1 to 128 of A-Z a-z 0-9 . _ -: no agent could report "
           "on it";
  }
  return std::nullopt;
}

std::optional<std::int64_t> priority_of_word(std::string_view word) {
  const std::string w = ::dslmodel::detail::lower(word);
  if (w == "low") return -10;
  if (w == "medium") return 0;
  if (w == "high") return 10;
  if (w == "critical") return 20;
  return std::nullopt;
}

CompletedOutcome completed_outcome(std::string_view status) {
  if (::dslmodel::detail::is_succeeded(status)) return CompletedOutcome::kSucceeded;
  if (::dslmodel::detail::is_failed(status)) return CompletedOutcome::kFailed;
  return CompletedOutcome::kOther;
}

Result<AgentRecord> parse_agent(std::string_view file_name, std::string_view bytes) {
  static constexpr std::array<std::string_view, 8> kKeys = {
      "id", "status", "heartbeat", "last_heartbeat", "pid", "host", "current_work", "created"};
  Scanned<kKeys.size()> in(bytes, kKeys);
  if (!in.status.ok()) return in.status;
  Fields& f = in.f;
  AgentRecord r;
  if (Status s = read_head(file_name, f, r,
                           {::dslmodel::detail::is_known_agent_status, "counted, not as active"});
      !s.ok()) {
    return s;
  }
  int hb = !absent(in.top.fields[2]) ? 2 : 3;
  r.heartbeat = f.time(hb, &r.heartbeat_invalid);
  r.pid = f.integer(4, kPidRange);
  r.host = f.str(5).value_or("");
  r.current_work = f.str(6).value_or("");
  r.created = f.time(7);
  r.warning = f.warning();
  return r;
}

Result<WorkRecord> parse_work(std::string_view file_name, std::string_view bytes) {
  TopLevel<kWorkKeys.size()> top;
  if (Status s = parse_top_level(bytes, kWorkKeys, top); !s.ok()) return s;
  return work_from_fields(file_name, top.fields.data(), &top.huge);
}

Result<WorkRecord> work_record_of(std::string_view file_name, const json& doc) {
  if (!doc.is_object()) return corrupt("not a JSON object");
  std::array<Field, kWorkKeys.size()> fields;
  for (std::size_t k = 0; k < kWorkKeys.size(); ++k) {
    auto it = doc.find(kWorkKeys[k]);
    if (it != doc.end()) fields[k] = field_of(*it);
  }
  return work_from_fields(file_name, fields.data(), nullptr);
}

Result<CompletedRecord> parse_completed(std::string_view file_name, std::string_view bytes) {
  static constexpr std::array<std::string_view, 10> kKeys = {
      "id",       "status",       "finished",    "command", "prompt",
      "attempts", "max_attempts", "duration_ms", "created", "claimed_at"};
  Scanned<kKeys.size()> in(bytes, kKeys);
  if (!in.status.ok()) return in.status;
  Fields& f = in.f;
  CompletedRecord r;
  if (Status s = read_head(file_name, f, r,
                           {::dslmodel::detail::is_known_completed_status,
                            "counted as neither succeeded nor failed"});
      !s.ok()) {
    return s;
  }
  r.finished = f.time(2);
  bool payload = f.type(3) == JType::kArray || f.type(4) == JType::kString;
  // Attempts that are not integers make a record not retryable.
  std::optional<std::int64_t> attempts = f.integer(5, kAttemptsRange);
  std::optional<std::int64_t> max_attempts = f.integer(6, kMaxAttemptsRange);
  r.retryable = completed_outcome(r.status) == CompletedOutcome::kFailed && payload && attempts &&
                max_attempts && *attempts < *max_attempts;
  // Timings only feed the capacity model (docs/policy.md).
  constexpr IntRange kDurationRange{0, 1'000'000'000'000};
  if (std::optional<double> ms = f.number(7, kDurationRange)) {
    r.duration = std::chrono::milliseconds(std::llround(*ms));
  }
  r.created = f.time(8);
  r.claimed_at = f.time(9);
  r.warning = f.warning();
  return r;
}

namespace {

// startTimeUnixNano is a decimal string in OTLP/JSON, a number in some exporters.
std::optional<TimePoint> nanos_to_time(const ojson& v) {
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
std::int64_t count_otlp_spans(const ojson& resource_spans, std::optional<TimePoint>& first) {
  std::int64_t count = 0;
  for (const ojson& rs : resource_spans) {
    if (!rs.is_object()) continue;
    for (const char* scope_key : {"scopeSpans", "instrumentationLibrarySpans"}) {
      auto scopes = rs.find(scope_key);
      if (scopes == rs.end() || !scopes->is_array()) continue;
      for (const ojson& scope : *scopes) {
        if (!scope.is_object()) continue;
        auto spans = scope.find("spans");
        if (spans == scope.end() || !spans->is_array()) continue;
        for (const ojson& span : *spans) {
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
  Scanned<kKeys.size()> in(bytes, kKeys);
  if (!in.status.ok()) return in.status;
  Fields& f = in.f;
  TelemetryRecord r;
  if (Status s = read_head(file_name, f, r); !s.ok()) return s;
  r.timestamp = f.time(1);
  r.warning = f.warning();
  if (f.type(2) == JType::kArray) {
    Result<RecordDoc> doc = parse_record_doc(bytes);
    if (!doc.ok()) return doc.status();
    std::optional<TimePoint> first;
    r.count = count_otlp_spans(*doc->doc.find("resourceSpans"), first);
    if (!r.timestamp) r.timestamp = first;
  }
  return r;
}

Result<RecordDoc> parse_record_doc(std::string_view bytes) {
  if (bytes.empty()) return corrupt("empty file");
  std::vector<detail::OutOfRangeNumber> huge;
  ScanResult scanned = detail::scan_top_level(bytes, nullptr, 0, nullptr, &huge);
  if (scanned != ScanResult::kObject) return scan_error(scanned);
  RecordDoc out;
  std::string patched;
  if (!huge.empty()) {
    // nlohmann refuses a whole text for one such number: read each as null instead.
    patched.reserve(bytes.size());
    std::size_t at = 0;
    for (const detail::OutOfRangeNumber& n : huge) {
      patched.append(bytes.substr(at, n.offset - at));
      patched.append("null");
      at = n.offset + n.length;
      std::string what = fmt::format(
          "a number in field \"{}\" is out of range for a double ({} "
          "characters), read as null",
          n.top_key, n.length);
      if (out.warning.find(what) == std::string::npos) {
        if (!out.warning.empty()) out.warning += "; ";
        out.warning += what;
      }
    }
    patched.append(bytes.substr(at));
    bytes = patched;
  }
  out.doc = ojson::parse(bytes.begin(), bytes.end(), nullptr, false);
  if (out.doc.is_discarded() || !out.doc.is_object()) return corrupt("invalid JSON");
  return out;
}

ojson record_doc_or_discarded(std::string_view bytes) {
  Result<RecordDoc> r = parse_record_doc(bytes);
  if (!r.ok()) return ojson(ojson::value_t::discarded);
  return std::move(r->doc);
}

}  // namespace dslmodel::store

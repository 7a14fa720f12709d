// Coordination records from raw bytes (protocol v1, docs/metrics.md). Pure
// functions: no I/O, no clock, no shared state, so safe from any thread and reusable by every
// backend (dir, etcd).
//
// Every parser requires valid UTF-8 JSON, nested at most kMaxJsonDepth deep, whose top level is
// an object. It fails with kCorrupt and a message that is the rejection reason as reports show
// it: "empty file", "invalid JSON", "not valid UTF-8", "nested deeper than 64 levels", "not a
// JSON object", or an essential field that is unusable: `field "id" is not a string`,
// `field "status" is not a string`. Every other field of the wrong type or out of range is
// ignored (it takes its default) and named in the record's `warning`, as is a status the metrics
// do not know; one message per file, the fields joined by "; ". null counts as absent for every
// field. Unknown fields are ignored. Integers may be written as numbers or numeric strings. The
// returned record's `file` is `file_name`; its `id` defaults to the file name's stem after the
// kind prefix.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "dslmodel/snapshot.h"
#include "dslmodel/status.h"

namespace dslmodel::store {

enum class RecordKind { kAgent, kWork, kCompleted, kTelemetry };

// The kind a file name denotes: exact, case-sensitive prefix "agent_", "work_", "completed_" or
// "telemetry_" and suffix ".json" (core/records.h). nullopt for every other name (dead_*, dot
// files, archive/).
std::optional<RecordKind> kind_of_file(std::string_view file_name);

// The id a file name implies: "work_7.json" → "7". REQUIRES: kind_of_file(file_name).
std::string_view id_from_file_name(std::string_view file_name);

// Why a record file of this name is rejected before it is read, or nullopt when it may be read:
// "file name is not valid UTF-8"; for a work file, an id (from the name) outside
// [A-Za-z0-9._-]{1,128}, which no claim, completion or repair could name.
// REQUIRES: kind_of_file(file_name).
std::optional<std::string> file_name_problem(std::string_view file_name);

// The allowed values of an integer field (docs/metrics.md, "Field values").
struct IntRange {
  std::int64_t min = 0;
  std::int64_t max = 0;
};
inline constexpr IntRange kPriorityRange{-1'000'000, 1'000'000};
inline constexpr IntRange kAttemptsRange{0, 1'000'000};
inline constexpr IntRange kMaxAttemptsRange{1, 1'000'000};
inline constexpr IntRange kTimeoutRange{1, 31'536'000};  // seconds: one second to a year
inline constexpr IntRange kPidRange{1, 2'147'483'647};

// The priority a word denotes, any case: low -10, medium 0 (as an item without a priority),
// high 10, critical 20. nullopt for any other text.
std::optional<std::int64_t> priority_of_word(std::string_view word);

// agent: id, status (lower-cased), heartbeat | last_heartbeat (ISO-8601 string or unix seconds;
// unparseable or wrong-typed → heartbeat_invalid), pid (integer), host, current_work.
Result<AgentRecord> parse_agent(std::string_view file_name, std::string_view bytes);

// work: id, status, priority (number, numeric string or priority_of_word()), created,
// claimed_by, claimed_at, lease_expires (times that do not parse count as absent), attempts,
// max_attempts, timeout_s (integers; timeout_s 0 is out of range: the agent's default applies).
Result<WorkRecord> parse_work(std::string_view file_name, std::string_view bytes);

// The same fields and rules as parse_work, read from a parsed document (the queue's WorkItem).
Result<WorkRecord> work_record_of(std::string_view file_name, const nlohmann::json& doc);

// completed: id, status, finished. retryable = status failed|error, a payload ("command" array or
// "prompt" string), and integer attempts < integer max_attempts.
Result<CompletedRecord> parse_completed(std::string_view file_name, std::string_view bytes);

// telemetry: id, timestamp; count 1, or for an OTLP/JSON export ("resourceSpans" array) the number
// of spans in resourceSpans[].scopeSpans[].spans[] (or the legacy instrumentationLibrarySpans),
// with the timestamp taken from the first span's startTimeUnixNano when there is none.
Result<TelemetryRecord> parse_telemetry(std::string_view file_name, std::string_view bytes);

// A record file as a whole document, for the readers that need all of it (the work queue, the
// repairs). Accepts what the parsers above accept, failing with the same reasons; a number no
// double holds (nlohmann refuses the whole text for it) reads as null and is named in `warning`.
struct RecordDoc {
  nlohmann::ordered_json doc;
  std::string warning;
};
Result<RecordDoc> parse_record_doc(std::string_view bytes);

// parse_record_doc()'s document, or a discarded value (is_discarded()) when it fails.
nlohmann::ordered_json record_doc_or_discarded(std::string_view bytes);

// How a completed record's (lower-cased) status counts (docs/metrics.md; the words are
// core/records.h's): missing or completed|success|succeeded|done → kSucceeded; failed|error →
// kFailed; anything else → kOther.
enum class CompletedOutcome { kSucceeded, kFailed, kOther };
CompletedOutcome completed_outcome(std::string_view status);

}  // namespace dslmodel::store

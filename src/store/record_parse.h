// Coordination records from raw bytes (protocol v1, DESIGN §3–4). Pure functions: no I/O, no
// clock, no shared state, so safe from any thread and reusable by every backend (dir, etcd).
//
// Every parser requires valid UTF-8 JSON whose top level is an object. It fails with kCorrupt and
// a message that is the rejection reason as reports show it:
//   "empty file", "invalid JSON", "not a JSON object",
//   `field "<name>" is not a string` (or "an integer", "a number", "an array", ...).
// null counts as absent for every field. Unknown fields are ignored. The returned record's `file`
// is `file_name`; its `id` defaults to the file name's stem after the kind prefix.
#pragma once

#include <optional>
#include <string_view>

#include "dslmodel/snapshot.h"
#include "dslmodel/status.h"

namespace dslmodel::store {

enum class RecordKind { kAgent, kWork, kCompleted, kTelemetry };

// The kind a file name denotes: exact, case-sensitive prefix "agent_", "work_", "completed_" or
// "telemetry_" and suffix ".json". nullopt for every other name (dead_*, dot files, archive/).
std::optional<RecordKind> kind_of_file(std::string_view file_name);

// The id a file name implies: "work_7.json" → "7". REQUIRES: kind_of_file(file_name).
std::string_view id_from_file_name(std::string_view file_name);

// agent: id, status (lower-cased), heartbeat | last_heartbeat (ISO-8601 string or unix seconds;
// unparseable → heartbeat_invalid), pid (integer), host, current_work.
Result<AgentRecord> parse_agent(std::string_view file_name, std::string_view bytes);

// work: id, status, priority (number), created, claimed_by, claimed_at, lease_expires (times
// that do not parse count as absent), attempts, max_attempts (integers).
Result<WorkRecord> parse_work(std::string_view file_name, std::string_view bytes);

// completed: id, status, finished. retryable = status failed|error, a payload ("command" array or
// "prompt" string), and integer attempts < integer max_attempts.
Result<CompletedRecord> parse_completed(std::string_view file_name, std::string_view bytes);

// telemetry: id, timestamp; count 1, or for an OTLP/JSON export ("resourceSpans" array) the number
// of spans in resourceSpans[].scopeSpans[].spans[] (or the legacy instrumentationLibrarySpans),
// with the timestamp taken from the first span's startTimeUnixNano when there is none.
Result<TelemetryRecord> parse_telemetry(std::string_view file_name, std::string_view bytes);

// How a completed record's (lower-cased) status counts (DESIGN §4): missing or
// completed|success|succeeded|done → kSucceeded; failed|error → kFailed; anything else → kOther.
enum class Outcome { kSucceeded, kFailed, kOther };
Outcome completed_outcome(std::string_view status);

}  // namespace dslmodel::store

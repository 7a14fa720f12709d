// Snapshot: what a CoordinationStore read at one moment, as plain values.
//
// A snapshot is the only input the pure core (measure, score, decide) looks at besides the
// configuration, the decision history and the time. It holds compact records, never file
// handles. Plain data: safe to copy and to read from many threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace dslmodel {

using TimePoint = std::chrono::system_clock::time_point;

// agent_<id>.json
struct AgentRecord {
  std::string id;      // from the file name when the file has no "id"
  std::string file;    // the file name in the store, e.g. "work_7.json"
  std::string status;  // lower-cased; empty when the file has none (counts as active)
  std::optional<TimePoint> heartbeat;  // "heartbeat" or "last_heartbeat"
  bool heartbeat_invalid = false;      // present but unparseable: the agent is stale
  std::optional<std::int64_t> pid;
  std::string host;
  std::string current_work;
  std::optional<TimePoint> created;  // when the agent started (its first heartbeat)
  std::string warning;  // what was wrong with a kept record (docs/metrics.md); empty when nothing
};

// Where a claim's processes run, recorded in the claim once its command started, so that a
// requeue can wait until none of them can still run (docs/agents.md, "Exactly once"). Pids
// compare only within one pid space (same boot, same pid namespace); start times (clock ticks
// after boot) tell a process from a later one that reused its pid.
struct ClaimProcesses {
  std::string host;       // the agent's host name, for people
  std::string pid_space;  // "<boot id>/<pid namespace inode>"
  std::int64_t pid = 0;   // the agent
  std::uint64_t pid_start = 0;
  std::int64_t pgid = 0;  // the item's process group: its leader's pid
  std::uint64_t pgid_start = 0;
};

// work_<id>.json
struct WorkRecord {
  std::string id;
  std::string file;    // the file name in the store, e.g. "work_7.json"
  std::string status;  // lower-cased; empty when the file has none (counts as pending)
  std::int64_t priority = 0;
  std::optional<TimePoint> created;
  std::string claimed_by;
  std::optional<TimePoint> claimed_at;
  std::optional<TimePoint> lease_expires;
  std::int64_t attempts = 0;
  std::optional<std::int64_t> max_attempts;
  std::optional<std::int64_t>
      timeout_s;        // per attempt; absent or out of range: the agent's default
  std::string warning;  // what was wrong with a kept record; empty when nothing
};

// completed_<id>.json
struct CompletedRecord {
  std::string id;
  std::string file;    // the file name in the store, e.g. "work_7.json"
  std::string status;  // lower-cased; empty when the file has none (counts as succeeded)
  std::optional<TimePoint> finished;
  // A failed record that carries its payload ("command" or "prompt") and has attempts left
  // (attempts < max_attempts) can be put back in the queue by `optimize`.
  bool retryable = false;
  // How the item ran, for the capacity model (docs/policy.md): "duration_ms", "created" (when
  // it was queued) and "claimed_at" (when an agent took it), each when present and valid.
  std::optional<std::chrono::milliseconds> duration;
  std::optional<TimePoint> created;
  std::optional<TimePoint> claimed_at;
  std::string warning;  // what was wrong with a kept record; empty when nothing
};

// telemetry_<id>.json: one record, or an OTLP/JSON export counting its spans.
struct TelemetryRecord {
  std::string id;
  std::string file;  // the file name in the store, e.g. "work_7.json"
  std::optional<TimePoint> timestamp;
  std::int64_t count = 1;
  std::string warning;  // what was wrong with a kept record; empty when nothing
};

// A file that was not counted, and why ("not a JSON object", "symlink", ...).
struct RejectedFile {
  std::string name;
  std::string reason;
};

// A file that was counted, with what was wrong in it: a field of the wrong type or out of range
// (ignored), an unknown status, an id another file uses too.
struct FileWarning {
  std::string name;
  std::string message;
};

// Records that compaction moved under archive/: they keep counting.
struct ArchivedTotals {
  std::int64_t succeeded = 0;
  std::int64_t failed = 0;
  std::int64_t telemetry = 0;
};

struct Snapshot {
  std::vector<AgentRecord> agents;
  std::vector<WorkRecord> work;
  std::vector<CompletedRecord> completed;
  std::vector<TelemetryRecord> telemetry;
  std::vector<RejectedFile> rejected;
  std::vector<FileWarning> warnings;  // sorted by name
  ArchivedTotals archived;
  // True when the store could not list everything (a listing error, a time budget).
  bool partial = false;
  std::string source;  // the directory or URL it came from, for messages
};

}  // namespace dslmodel

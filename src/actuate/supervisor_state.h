// The process supervisor's state file (<coordination dir>/.dsl/supervisor.json): which agent
// processes it started, identified by pid and start time. It is the source of truth across
// supervisor restarts. Format:
//   {"version":1,"agents":[{"id":"agent-1718000000000-1","slot":"agent-1718000000000-1",
//     "pid":1234,"start_time":56789,"started_at":"2024-06-10T06:13:20.000Z",
//     "decision_id":"d-42","deaths":0}, ...]}
// `slot` is the id of the first agent of a lineage: a replacement for a dead agent inherits it.
// `deaths` counts the slot's consecutive deaths before this agent (for the restart backoff).
//
// Thread-safety: pure functions and plain values, except save/load which touch only their path.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "dslmodel/snapshot.h"
#include "dslmodel/status.h"

namespace dslmodel::actuate {

// One supervised agent as the supervisor's state file records it (not the agent's own
// coordination record, dslmodel::AgentRecord).
struct SupervisorEntry {
  std::string id;
  std::string slot;
  pid_t pid = 0;
  std::uint64_t start_time = 0;  // /proc/<pid>/stat field 22
  TimePoint started_at{};
  std::string decision_id;
  int deaths = 0;
};

struct DecodedState {
  std::vector<SupervisorEntry> records;
  std::size_t malformed = 0;  // entries skipped: missing or mistyped fields
};

// The file's text for `records`, one JSON document ending in a newline. Pure.
std::string encode_state(const std::vector<SupervisorEntry>& records);

// Parses a state file's text; an entry without a non-empty id, a positive pid and a start time is
// skipped and counted. Fails with kCorrupt when the text is not a JSON object with an "agents"
// array. Pure.
Result<DecodedState> decode_state(std::string_view text);

// Reads and decodes `path`: a missing file is an empty state. Fails with kCorrupt as
// decode_state, or with the error of platform::read_file_limited (kIo, kInvalidArgument).
Result<DecodedState> load_state(const std::filesystem::path& path);

// Writes `records` to `path` atomically (readers see the old file or the new one), creating the
// parent directory. Fails with kIo naming the path.
Status save_state(const std::filesystem::path& path, const std::vector<SupervisorEntry>& records);

}  // namespace dslmodel::actuate

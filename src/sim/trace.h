// Workload traces for the simulator (`dsl auto simulate`, docs/simulate.md): when work arrives,
// how long each item runs, and when agents crash. Pure data and parsing; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dslmodel/status.h"

namespace dslmodel::sim {

struct TraceItem {
  double at_s = 0.0;        // arrival, seconds from the start of the trace (>= 0)
  double duration_s = 0.0;  // how long an agent runs it (> 0)
  std::int64_t priority = 0;
  std::string id;  // unique within the trace; "i<n>" when the input names none
};

// `agents` agents die at `at_s` (kill -9): their claims stay behind, their heartbeats stop.
struct CrashEvent {
  double at_s = 0.0;
  int agents = 1;
};

struct Trace {
  std::string name;
  std::vector<TraceItem> items;     // sorted by at_s (stable), times shifted so the first is 0
  std::vector<CrashEvent> crashes;  // sorted by at_s, on the same clock as the items
  // Cycles go on until at least one interval past this, also once every item settled (the
  // scale-downs after a drain): --from-dir sets the recording's last journal record.
  double run_until_s = 0.0;
};

// Parses a trace file's text. The format is taken from the content:
//  - JSON lines: one object per line, {"at": 12.5, "duration_s": 0.5, "priority": 3, "id": "x"};
//    or a crash line {"at": 30, "crash": 2}. Blank lines and lines starting with '#' are skipped.
//  - CSV with a header naming the columns: at, duration_s, optional priority and id, any order,
//    other columns ignored.
//  - The Azure LLM inference trace CSV (header TIMESTAMP,ContextTokens,GeneratedTokens): each
//    request's duration is azure_service_seconds(context, generated).
// `at` is seconds (a number) or an ISO-8601 time ("2023-11-16 18:17:03.9799600" and
// "2023-11-16T18:17:03Z" both); times are shifted so the earliest event is at 0.
// Errors (kInvalidArgument) name the line: "line 7: duration_s must be a positive number".
Result<Trace> parse_trace(std::string_view text, std::string name);

// Reads and parses a file (kNotFound / kIo when it cannot be read).
Result<Trace> load_trace(const std::string& path);

// The service-time model used for the Azure LLM trace (docs/policy.md): a fixed 0.2 s start, 0.05
// ms per context (prompt) token and 20 ms per generated token.
double azure_service_seconds(std::int64_t context_tokens, std::int64_t generated_tokens);

// The built-in traces, deterministic for a seed:
//   burst    120 items of 0.5 s, all at t = 0
//   steady   1 item/s of 0.5 s (Poisson arrivals) for 10 minutes
//   spike    1 item/s of 0.5 s for 60 s, plus 80 items at t = 20 s
//   ramp     arrivals rising linearly from 0.2/s to 12/s over 10 minutes, items of 0.5 s
//   crash    the burst, with 2 agents killed at t = 5 s
//   diurnal  a sinusoidal rate between 0.2/s and 6/s with a 30 minute period over 1 hour,
//            items of 0.5 s with ±50% jitter
// Names not listed: kInvalidArgument listing the names.
Result<Trace> builtin_trace(std::string_view name, std::uint64_t seed = 1);

// "burst", "steady", "spike", "ramp", "crash", "diurnal".
const std::vector<std::string>& builtin_trace_names();

}  // namespace dslmodel::sim

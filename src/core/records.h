// The record vocabulary of the coordination store (docs/metrics.md, docs/agents.md): the kinds
// of records with the file-name prefixes that denote them, and the status words the metrics, the
// parsers and both store backends classify records by. Defined here once; everything that names a
// record kind or a status word uses these. Constants and pure functions only; thread-safe.
#pragma once

#include <array>
#include <string>
#include <string_view>

namespace dslmodel::records {

// File-name prefixes of the record kinds, and the suffix every record file has: a record of kind
// K and id X is stored as "<K prefix><X>.json" (in etcd, under P/<kind>/X).
inline constexpr std::string_view kAgentPrefix = "agent_";
inline constexpr std::string_view kWorkPrefix = "work_";
inline constexpr std::string_view kCompletedPrefix = "completed_";
inline constexpr std::string_view kTelemetryPrefix = "telemetry_";
inline constexpr std::string_view kDeadPrefix = "dead_";  // given-up work, never counted
inline constexpr std::string_view kRecordSuffix = ".json";

// "<prefix><id>.json", e.g. file_name(kWorkPrefix, "7") == "work_7.json".
inline std::string file_name(std::string_view prefix, std::string_view id) {
  std::string out;
  out.reserve(prefix.size() + id.size() + kRecordSuffix.size());
  out.append(prefix).append(id).append(kRecordSuffix);
  return out;
}

// Status words the store writes.
inline constexpr std::string_view kPending = "pending";
inline constexpr std::string_view kClaimed = "claimed";
inline constexpr std::string_view kCompleted = "completed";
inline constexpr std::string_view kFailed = "failed";
inline constexpr std::string_view kDead = "dead";

// The classes the metrics count by (lower-case; docs/metrics.md). Work: pending (or no status),
// claimed, terminal; everything else counts in the queue as neither pending nor in progress.
inline constexpr std::array<std::string_view, 3> kClaimedWork = {kClaimed, "in_progress",
                                                                 "running"};
inline constexpr std::array<std::string_view, 4> kTerminalWork = {kCompleted, kFailed, "cancelled",
                                                                  kDead};
// Completed records: succeeded (no status counts as succeeded) or failed.
inline constexpr std::array<std::string_view, 5> kSucceededCompleted = {"", kCompleted, "success",
                                                                        "succeeded", "done"};
inline constexpr std::array<std::string_view, 2> kFailedCompleted = {kFailed, "error"};
// Agents: active (no status counts as active), gone, and draining (known, not active).
inline constexpr std::array<std::string_view, 5> kActiveAgent = {"active", "idle", "busy",
                                                                 "working", "running"};
inline constexpr std::array<std::string_view, 2> kGoneAgent = {"stopped", kFailed};
inline constexpr std::string_view kDrainingAgent = "draining";

}  // namespace dslmodel::records

// A snapshot as text, every field of every record, for comparing two snapshots in tests.
#pragma once

#include <fmt/format.h>

#include <chrono>
#include <optional>
#include <string>

#include "dslmodel/snapshot.h"
#include "store/snapshot_build.h"

namespace dslmodel::store {

template <typename T>
std::string opt_text(const std::optional<T>& v) {
  if (!v) return "-";
  if constexpr (std::is_same_v<T, TimePoint>) {
    return std::to_string(v->time_since_epoch().count());
  } else if constexpr (std::is_same_v<T, std::chrono::milliseconds>) {
    return std::to_string(v->count());
  } else {
    return std::to_string(*v);
  }
}

// With `finish`, the snapshot is first finished as a store finishes it (snapshot_build.h).
inline std::string snapshot_text(Snapshot s, bool finish = false) {
  if (finish) detail::finish_snapshot(s);
  std::string out;
  for (const AgentRecord& r : s.agents) {
    out += fmt::format("agent {} {} {} {} {} {} {} {} {} {}\n", r.file, r.id, r.status,
                       opt_text(r.heartbeat), r.heartbeat_invalid, opt_text(r.pid), r.host,
                       r.current_work, opt_text(r.created), r.warning);
  }
  for (const WorkRecord& r : s.work) {
    out += fmt::format("work {} {} {} {} {} {} {} {} {} {} {} {}\n", r.file, r.id, r.status,
                       r.priority, opt_text(r.created), r.claimed_by, opt_text(r.claimed_at),
                       opt_text(r.lease_expires), r.attempts, opt_text(r.max_attempts),
                       opt_text(r.timeout_s), r.warning);
  }
  for (const CompletedRecord& r : s.completed) {
    out += fmt::format("completed {} {} {} {} {} {} {} {} {}\n", r.file, r.id, r.status,
                       opt_text(r.finished), r.retryable, opt_text(r.duration), opt_text(r.created),
                       opt_text(r.claimed_at), r.warning);
  }
  for (const TelemetryRecord& r : s.telemetry) {
    out += fmt::format("telemetry {} {} {} {} {}\n", r.file, r.id, opt_text(r.timestamp), r.count,
                       r.warning);
  }
  for (const RejectedFile& r : s.rejected)
    out += fmt::format("rejected {}: {}\n", r.name, r.reason);
  for (const FileWarning& w : s.warnings) out += fmt::format("warning {}: {}\n", w.name, w.message);
  out += fmt::format("archived {} {} {} partial {} source {}\n", s.archived.succeeded,
                     s.archived.failed, s.archived.telemetry, s.partial, s.source);
  return out;
}

}  // namespace dslmodel::store

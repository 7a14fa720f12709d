// Builders for hand-made snapshots in the core tests. Header-only; no I/O.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "dslmodel/snapshot.h"
#include "dslmodel/time.h"

namespace dslmodel::testing {

// A fixed "now" for every test: 2025-06-27T16:00:00Z.
inline TimePoint test_now() { return *parse_iso8601("2025-06-27T16:00:00Z"); }

inline AgentRecord agent(std::string id, std::string status = "active",
                         std::optional<TimePoint> heartbeat = std::nullopt) {
  AgentRecord a;
  a.file = "agent_" + id + ".json";
  a.id = std::move(id);
  a.status = std::move(status);
  a.heartbeat = heartbeat;
  return a;
}

inline WorkRecord work(std::string id, std::string status = "pending",
                       std::optional<TimePoint> created = std::nullopt,
                       std::string claimed_by = "") {
  WorkRecord w;
  w.file = "work_" + id + ".json";
  w.id = std::move(id);
  w.status = std::move(status);
  w.created = created;
  w.claimed_by = std::move(claimed_by);
  return w;
}

inline CompletedRecord completed(std::string id, std::string status = "completed",
                                 std::optional<TimePoint> finished = std::nullopt,
                                 bool retryable = false) {
  CompletedRecord c;
  c.file = "completed_" + id + ".json";
  c.id = std::move(id);
  c.status = std::move(status);
  c.finished = finished;
  c.retryable = retryable;
  return c;
}

inline TelemetryRecord telemetry(std::string id, std::optional<TimePoint> timestamp = std::nullopt,
                                 std::int64_t count = 1) {
  TelemetryRecord t;
  t.file = "telemetry_" + id + ".json";
  t.id = std::move(id);
  t.timestamp = timestamp;
  t.count = count;
  return t;
}

// The demo fixture written by the original tool: 2 active agents without heartbeats, 8 pending
// items, 3 completed, 4 telemetry records.
inline Snapshot demo_fixture() {
  const TimePoint t = *parse_iso8601("2025-06-27T15:41:04.944999");
  Snapshot s;
  for (int i = 0; i < 2; ++i) s.agents.push_back(agent("agent_" + std::to_string(i)));
  for (auto& a : s.agents) a.file = a.id + ".json";
  for (int i = 0; i < 8; ++i) s.work.push_back(work(std::to_string(i), "pending", t));
  for (int i = 0; i < 3; ++i) s.completed.push_back(completed(std::to_string(i), "completed", t));
  for (int i = 0; i < 4; ++i) s.telemetry.push_back(telemetry(std::to_string(i), t));
  return s;
}

}  // namespace dslmodel::testing

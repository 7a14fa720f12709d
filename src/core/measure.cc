// measure(): the counts of docs/metrics.md, and the status rules every part of the core shares.
#include <algorithm>
#include <array>

#include "core/records.h"
#include "core/rules.h"
#include "dslmodel/policy.h"

namespace dslmodel {
namespace detail {
namespace {

template <std::size_t N>
bool one_of(std::string_view status, const std::array<std::string_view, N>& set) {
  const std::string s = lower(status);
  return std::find(set.begin(), set.end(), std::string_view(s)) != set.end();
}

using records::kActiveAgent;
using records::kClaimedWork;
using records::kFailedCompleted;
using records::kGoneAgent;
using records::kSucceededCompleted;
using records::kTerminalWork;

// The stem of "agent_<x>.json", or empty when the file is not named so.
std::string_view agent_file_stem(std::string_view file) {
  using records::kAgentPrefix;
  using records::kRecordSuffix;
  if (file.size() <= kAgentPrefix.size() + kRecordSuffix.size() ||
      !file.starts_with(kAgentPrefix) || !file.ends_with(kRecordSuffix)) {
    return {};
  }
  return file.substr(0, file.size() - kRecordSuffix.size());
}

// An agent that has certainly stopped working: stopped/failed, or silent for 2 x timeout.
bool clearly_gone(const AgentRecord& a, Seconds agent_timeout, TimePoint now) {
  if (one_of(a.status, kGoneAgent)) return true;
  return a.heartbeat && !a.heartbeat_invalid && now - *a.heartbeat > 2 * agent_timeout;
}

}  // namespace

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool is_terminal_work(std::string_view status) { return one_of(status, kTerminalWork); }
bool is_pending_work(std::string_view status) {
  return status.empty() || lower(status) == records::kPending;
}
bool is_claimed_work(std::string_view status) { return one_of(status, kClaimedWork); }
bool is_succeeded(std::string_view status) { return one_of(status, kSucceededCompleted); }
bool is_failed(std::string_view status) { return one_of(status, kFailedCompleted); }

bool is_known_work_status(std::string_view status) {
  return is_pending_work(status) || is_claimed_work(status) || is_terminal_work(status);
}
bool is_known_agent_status(std::string_view status) {
  return status.empty() || one_of(status, kActiveAgent) || one_of(status, kGoneAgent) ||
         lower(status) == records::kDrainingAgent;
}
bool is_known_completed_status(std::string_view status) {
  return is_succeeded(status) || is_failed(status);
}

std::string_view agent_key(std::string_view name) {
  using records::kAgentPrefix;
  if (name.size() > kAgentPrefix.size() && name.starts_with(kAgentPrefix)) {
    name.remove_prefix(kAgentPrefix.size());
  }
  return name;
}

AgentIndex::AgentIndex(const Snapshot& snap) {
  for (const AgentRecord& a : snap.agents) {
    std::string id_key(agent_key(a.id));
    std::string stem_key(agent_key(agent_file_stem(a.file)));
    if (!id_key.empty()) by_key_[id_key].push_back(&a);
    if (!stem_key.empty() && stem_key != id_key) by_key_[stem_key].push_back(&a);
  }
}

ClaimHolder AgentIndex::holder(std::string_view claimed_by, Seconds agent_timeout,
                               TimePoint now) const {
  const std::string key(agent_key(claimed_by));
  if (key.empty()) return {.active = false, .clearly_gone = true};
  auto it = by_key_.find(key);
  if (it == by_key_.end()) return {.active = false, .clearly_gone = true};
  ClaimHolder h{.active = false, .clearly_gone = true};
  for (const AgentRecord* a : it->second) {
    if (agent_is_active(*a, agent_timeout, now)) h.active = true;
    if (!clearly_gone(*a, agent_timeout, now)) h.clearly_gone = false;
  }
  if (h.active) h.clearly_gone = false;
  return h;
}

}  // namespace detail

bool agent_is_active(const AgentRecord& a, Seconds agent_timeout, TimePoint now) {
  if (!a.status.empty() && !detail::one_of(a.status, detail::kActiveAgent)) return false;
  if (a.heartbeat_invalid) return false;
  return !a.heartbeat || now - *a.heartbeat <= agent_timeout;
}

namespace {

void count_work(const Snapshot& snap, SystemMetrics& m) {
  for (const WorkRecord& w : snap.work) {
    if (detail::is_terminal_work(w.status)) continue;
    ++m.work_queue_size;
    if (detail::is_pending_work(w.status)) ++m.pending;
    if (detail::is_claimed_work(w.status)) ++m.in_progress;
  }
}

void count_completed(const Snapshot& snap, SystemMetrics& m) {
  m.succeeded = std::max<std::int64_t>(0, snap.archived.succeeded);
  m.failed = std::max<std::int64_t>(0, snap.archived.failed);
  for (const CompletedRecord& c : snap.completed) {
    if (detail::is_succeeded(c.status)) ++m.succeeded;
    if (detail::is_failed(c.status)) ++m.failed;
  }
  const std::int64_t denominator = m.succeeded + m.failed + m.work_queue_size;
  m.completion_rate =
      denominator == 0 ? 0.0 : static_cast<double>(m.succeeded) / static_cast<double>(denominator);
}

}  // namespace

SystemMetrics measure(const Snapshot& snap, const Config& cfg, TimePoint now) {
  SystemMetrics m;
  for (const AgentRecord& a : snap.agents) {
    if (agent_is_active(a, cfg.policy.agent_timeout, now)) ++m.active_agents;
  }
  m.total_agents = static_cast<std::int64_t>(snap.agents.size());
  count_work(snap, m);
  count_completed(snap, m);
  m.telemetry_volume = std::max<std::int64_t>(0, snap.archived.telemetry);
  for (const TelemetryRecord& t : snap.telemetry)
    m.telemetry_volume += std::max<std::int64_t>(0, t.count);
  m.rejected_files = static_cast<std::int64_t>(snap.rejected.size());
  m.files_read =
      static_cast<std::int64_t>(snap.agents.size() + snap.work.size() + snap.completed.size() +
                                snap.telemetry.size() + snap.rejected.size());
  m.health_score = compute_health_score(m, cfg.health);
  m.health_state = classify_health(m.health_score);
  return m;
}

}  // namespace dslmodel

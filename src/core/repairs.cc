// plan_queue_repairs() and plan_optimizations(): what coordination_improve and optimize would
// change in the store (docs/policy.md). Pure: the store applies the actions.
#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <string_view>
#include <tuple>
#include <unordered_set>

#include "core/records.h"
#include "core/rules.h"
#include "dslmodel/policy.h"

namespace dslmodel {
namespace {

// Orders optional times with known times first, oldest first: an item of unknown age waits.
bool older(const std::optional<TimePoint>& a, const std::optional<TimePoint>& b) {
  if (a.has_value() != b.has_value()) return a.has_value();
  return a.has_value() && *a < *b;
}

// Oldest first: by created, then claimed_at, then file name.
bool work_before(const WorkRecord* a, const WorkRecord* b) {
  if (older(a->created, b->created)) return true;
  if (older(b->created, a->created)) return false;
  if (older(a->claimed_at, b->claimed_at)) return true;
  if (older(b->claimed_at, a->claimed_at)) return false;
  return a->file < b->file;
}

bool past(const std::optional<TimePoint>& t, Seconds age, TimePoint now) {
  return t && now - *t > age;
}

// "work_7.json" → "completed_7.json" (from, to: kind prefixes): the record of the same id.
std::string sibling_file(std::string_view file, std::string_view from, std::string_view to) {
  if (!file.starts_with(from)) return {};
  return std::string(to).append(file.substr(from.size()));
}

// "work_7.json" → "completed_7.json": the record that finishing the item writes.
std::string completed_file_for(const std::string& work_file) {
  return sibling_file(work_file, records::kWorkPrefix, records::kCompletedPrefix);
}

// The one repair an item needs now, if any; rules of docs/policy.md in order. A claimed item whose
// completion exists already ran: its agent died between writing completed_<id> and moving the work
// file away, so it is finalized, never requeued (each item completes exactly once).
std::optional<RepairAction> repair_for(const WorkRecord& w, const detail::AgentIndex& agents,
                                       const std::unordered_set<std::string>& completed,
                                       const PolicyConfig& p, TimePoint now) {
  if (detail::is_claimed_work(w.status)) {
    if (completed.contains(completed_file_for(w.file))) {
      return RepairAction{RepairOp::kFinalize, w.file, w.claimed_by, "already_completed"};
    }
    const detail::ClaimHolder h = agents.holder(w.claimed_by, p.agent_timeout, now);
    if (!h.active) return RepairAction{RepairOp::kRequeue, w.file, w.claimed_by, "orphaned_claim"};
    if (w.lease_expires && *w.lease_expires < now) {
      return RepairAction{RepairOp::kRequeue, w.file, w.claimed_by, "lease_expired"};
    }
    return std::nullopt;  // held by a live agent: never taken from under it
  }
  if (!detail::is_pending_work(w.status)) return std::nullopt;  // unknown status: leave it
  std::int64_t max_attempts = w.max_attempts.value_or(p.default_max_attempts);
  if (max_attempts < 1) max_attempts = p.default_max_attempts;
  if (max_attempts >= 1 && w.attempts >= max_attempts) {
    return RepairAction{RepairOp::kDeadLetter, w.file, "", "max_attempts"};
  }
  if (p.max_work_age.count() > 0 && past(w.created, p.max_work_age, now)) {
    return RepairAction{RepairOp::kDeadLetter, w.file, "", "max_work_age"};
  }
  return std::nullopt;
}

struct Dated {
  std::optional<TimePoint> time;
  const std::string* file;
};

bool dated_before(const Dated& a, const Dated& b) {
  if (older(a.time, b.time)) return true;
  if (older(b.time, a.time)) return false;
  return *a.file < *b.file;
}

// "completed_7.json" → "work_7.json": the queue file a retry would write.
std::string work_file_for(const std::string& completed_file) {
  return sibling_file(completed_file, records::kCompletedPrefix, records::kWorkPrefix);
}

// A failure is retried only when its queue file is free: a retry never overwrites an item.
std::vector<RepairAction> plan_retries(const Snapshot& snap, const PolicyConfig& p) {
  std::unordered_set<std::string> queued;
  for (const WorkRecord& w : snap.work) queued.insert(w.file);
  std::vector<Dated> due;
  for (const CompletedRecord& c : snap.completed) {
    if (!c.retryable || !detail::is_failed(c.status)) continue;
    if (queued.contains(work_file_for(c.file))) continue;
    due.push_back({c.finished, &c.file});
  }
  std::stable_sort(due.begin(), due.end(), dated_before);
  std::vector<RepairAction> out;
  for (const Dated& d : due) {
    if (static_cast<int>(out.size()) >= p.repair_batch) break;
    out.push_back({RepairOp::kRetryFailed, *d.file, "", "retryable_failure"});
  }
  return out;
}

// Retryable failures are kept for retry_failed, never archived.
std::vector<RepairAction> plan_archive(const Snapshot& snap, const PolicyConfig& p, TimePoint now) {
  std::vector<Dated> due;
  for (const CompletedRecord& c : snap.completed) {
    if (c.retryable && detail::is_failed(c.status)) continue;
    if (past(c.finished, p.retention, now)) due.push_back({c.finished, &c.file});
  }
  for (const TelemetryRecord& t : snap.telemetry) {
    if (past(t.timestamp, p.retention, now)) due.push_back({t.timestamp, &t.file});
  }
  if (due.empty() || static_cast<int>(due.size()) < p.archive_min_files) return {};
  std::stable_sort(due.begin(), due.end(), dated_before);
  std::vector<RepairAction> out;
  out.reserve(due.size());
  for (const Dated& d : due) out.push_back({RepairOp::kArchive, *d.file, "", "retention"});
  return out;
}

}  // namespace

std::string to_string(RepairOp op) {
  switch (op) {
    case RepairOp::kRequeue:
      return "requeue";
    case RepairOp::kDeadLetter:
      return "dead_letter";
    case RepairOp::kRetryFailed:
      return "retry_failed";
    case RepairOp::kArchive:
      return "archive";
    case RepairOp::kFinalize:
      return "finalize";
  }
  return "requeue";
}

nlohmann::json to_json(const RepairAction& action) {
  return {{"op", to_string(action.op)},
          {"file", action.file},
          {"reason", action.reason},
          {"expect_claimed_by", action.expect_claimed_by}};
}

Result<RepairAction> repair_action_from_json(const nlohmann::json& j) {
  if (!j.is_object()) return Status(ErrorCode::kInvalidArgument, "repair action is not an object");
  std::string member[4];
  const char* const keys[4] = {"op", "file", "expect_claimed_by", "reason"};
  for (int k = 0; k < 4; ++k) {
    auto it = j.find(keys[k]);
    if (it == j.end()) continue;
    if (!it->is_string()) {
      return Status(ErrorCode::kInvalidArgument,
                    fmt::format("repair action: \"{}\" is not a string", keys[k]));
    }
    member[k] = it->get<std::string>();
  }
  for (RepairOp op : {RepairOp::kRequeue, RepairOp::kDeadLetter, RepairOp::kRetryFailed,
                      RepairOp::kArchive, RepairOp::kFinalize}) {
    if (to_string(op) == member[0]) return RepairAction{op, member[1], member[2], member[3]};
  }
  return Status(ErrorCode::kInvalidArgument,
                fmt::format("repair action: unknown op \"{}\"", member[0]));
}

std::optional<std::string> requeue_wait_reason(const std::optional<ClaimProcesses>& recorded,
                                               const ClaimProcessFacts& facts) {
  if (!recorded || !facts.same_pid_space) return std::nullopt;
  if (facts.agent_running) {
    return fmt::format("its agent (pid {} on {}) still runs", recorded->pid, recorded->host);
  }
  if (facts.group_running) {
    return fmt::format("its process group {} on {} still runs", recorded->pgid, recorded->host);
  }
  return std::nullopt;
}

std::vector<RepairAction> plan_queue_repairs(const Snapshot& snap, const Config& cfg,
                                             TimePoint now) {
  std::vector<const WorkRecord*> items;
  for (const WorkRecord& w : snap.work) {
    if (!detail::is_terminal_work(w.status)) items.push_back(&w);
  }
  std::stable_sort(items.begin(), items.end(), work_before);
  const detail::AgentIndex agents(snap);
  std::unordered_set<std::string> completed;
  for (const CompletedRecord& c : snap.completed) completed.insert(c.file);
  std::vector<RepairAction> out;
  for (const WorkRecord* w : items) {
    if (static_cast<int>(out.size()) >= cfg.policy.repair_batch) break;
    if (auto action = repair_for(*w, agents, completed, cfg.policy, now)) {
      out.push_back(std::move(*action));
    }
  }
  return out;
}

std::vector<RepairAction> plan_optimizations(const Snapshot& snap, const Config& cfg,
                                             TimePoint now) {
  std::vector<RepairAction> out = plan_retries(snap, cfg.policy);
  std::vector<RepairAction> archive = plan_archive(snap, cfg.policy, now);
  out.insert(out.end(), std::make_move_iterator(archive.begin()),
             std::make_move_iterator(archive.end()));
  return out;
}

}  // namespace dslmodel

// An in-memory WorkQueue for agent tests: the claim protocol's semantics without files, and a
// record of every call. Thread-safe (one mutex), so a test may inspect it while an agent runs.
#pragma once

#include <algorithm>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "dslmodel/work_queue.h"

namespace dslmodel::agent::testing {

class FakeWorkQueue final : public WorkQueue {
 public:
  struct Finished {
    std::string item;
    std::string agent;
    Completion completion;
    FinishOutcome outcome;
  };
  struct Telemetry {
    std::string id;
    nlohmann::json metrics;
  };

  // Adds an item as stored (status "pending" unless set).
  void put(WorkItem item) {
    std::lock_guard lock(mu_);
    if (item.status.empty()) item.status = "pending";
    item.file = "work_" + item.id + ".json";
    order_.push_back(item.id);
    items_[item.id] = std::move(item);
  }

  Result<std::string> add(const NewWork& w) override {
    WorkItem item;
    item.id = w.id.empty() ? "gen-" + std::to_string(order_.size()) : w.id;
    item.command = w.command;
    item.prompt = w.prompt;
    item.priority = w.priority;
    item.max_attempts = w.max_attempts;
    item.timeout = w.timeout;
    put(item);
    return item.id;
  }

  Result<std::optional<WorkItem>> claim_next(const std::string& agent_id, Seconds lease) override {
    std::lock_guard lock(mu_);
    ++claim_calls_;
    last_lease_ = lease;
    WorkItem* best = nullptr;
    for (const auto& id : order_) {
      WorkItem& it = items_[id];
      if (it.status == "pending" && (best == nullptr || it.priority > best->priority)) best = &it;
    }
    if (best == nullptr) return std::optional<WorkItem>();
    best->status = "claimed";
    best->claimed_by = agent_id;
    claims_.push_back(best->id);
    return std::optional<WorkItem>(*best);
  }

  Result<FinishOutcome> finish(const WorkItem& claimed, const std::string& agent_id,
                               const Completion& c) override {
    std::lock_guard lock(mu_);
    WorkItem& it = items_[claimed.id];
    if (it.status != "claimed" || it.claimed_by != agent_id) {
      return Status(ErrorCode::kConflict, "claim lost");
    }
    FinishOutcome o = FinishOutcome::kCompleted;
    if (c.success) {
      it.status = "completed";
    } else if (it.attempts + 1 < it.max_attempts) {
      ++it.attempts;
      it.status = "pending";
      o = FinishOutcome::kRetrying;
    } else {
      ++it.attempts;
      it.status = "failed";
      o = FinishOutcome::kFailed;
    }
    it.claimed_by.clear();
    finished_.push_back({claimed.id, agent_id, c, o});
    return o;
  }

  Status release(const WorkItem& claimed, const std::string& agent_id) override {
    std::lock_guard lock(mu_);
    WorkItem& it = items_[claimed.id];
    if (it.status != "claimed" || it.claimed_by != agent_id) {
      return {ErrorCode::kConflict, "claim lost"};
    }
    it.status = "pending";
    it.claimed_by.clear();
    released_.push_back(claimed.id);
    return Status::Ok();
  }

  Status heartbeat(const AgentState& a) override {
    std::lock_guard lock(mu_);
    heartbeats_.push_back(a);
    return Status::Ok();
  }

  Status record_telemetry(const std::string& id, const nlohmann::json& metrics) override {
    std::lock_guard lock(mu_);
    telemetry_.push_back({id, metrics});
    return Status::Ok();
  }

  Result<std::vector<WorkItem>> list(const std::string& status) override {
    std::lock_guard lock(mu_);
    std::vector<WorkItem> out;
    for (const auto& id : order_) {
      if (status.empty() || items_[id].status == status) out.push_back(items_[id]);
    }
    return out;
  }

  Result<nlohmann::json> show(const std::string& id) override {
    std::lock_guard lock(mu_);
    if (!items_.contains(id)) return Status(ErrorCode::kNotFound, "no work item " + id);
    return nlohmann::json{{"id", id}, {"status", items_[id].status}};
  }

  Status requeue(const std::string& id) override {
    std::lock_guard lock(mu_);
    if (!items_.contains(id)) return {ErrorCode::kNotFound, "no work item " + id};
    items_[id].status = "pending";
    items_[id].claimed_by.clear();
    items_[id].attempts = 0;
    return Status::Ok();
  }

  // Test hooks and observations.
  WorkItem item(const std::string& id) {
    std::lock_guard lock(mu_);
    return items_[id];
  }
  std::vector<Finished> finished() {
    std::lock_guard lock(mu_);
    return finished_;
  }
  std::vector<std::string> claims() {
    std::lock_guard lock(mu_);
    return claims_;
  }
  std::vector<std::string> released() {
    std::lock_guard lock(mu_);
    return released_;
  }
  std::vector<AgentState> heartbeats() {
    std::lock_guard lock(mu_);
    return heartbeats_;
  }
  std::vector<Telemetry> telemetry() {
    std::lock_guard lock(mu_);
    return telemetry_;
  }
  Seconds last_lease() {
    std::lock_guard lock(mu_);
    return last_lease_;
  }

 private:
  std::mutex mu_;
  std::map<std::string, WorkItem> items_;
  std::vector<std::string> order_;
  std::vector<std::string> claims_;
  std::vector<std::string> released_;
  std::vector<Finished> finished_;
  std::vector<AgentState> heartbeats_;
  std::vector<Telemetry> telemetry_;
  std::int64_t claim_calls_ = 0;
  Seconds last_lease_{0};
};

}  // namespace dslmodel::agent::testing

#include "sim/swarm_model.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>

namespace dslmodel::sim {
namespace {

TimePoint at_time(TimePoint origin, double s) {
  return origin + std::chrono::round<TimePoint::duration>(std::chrono::duration<double>(s));
}

// Keeps at least this many recent completions whatever their age (the service-time samples).
constexpr std::size_t kMinCompletedKept = 100;
// Stopped agents' records kept (the start-up lag is measured from them); older ones are dropped.
constexpr std::size_t kStoppedKept = 64;

}  // namespace

SwarmModel::SwarmModel(const Trace& trace, ModelOptions options)
    : options_(options), crashes_(trace.crashes) {
  items_.reserve(trace.items.size());
  outcomes_.resize(trace.items.size());
  for (std::size_t i = 0; i < trace.items.size(); ++i) {
    Item it;
    it.trace = &trace.items[i];
    items_.push_back(it);
    outcomes_[i].arrived_s = trace.items[i].at_s;
    by_id_[trace.items[i].id] = static_cast<int>(i);
    push(trace.items[i].at_s, EventKind::kArrival, static_cast<int>(i));
  }
  for (std::size_t i = 0; i < crashes_.size(); ++i) {
    push(crashes_[i].at_s, EventKind::kCrash, static_cast<int>(i));
  }
  for (int i = 0; i < options_.initial_agents; ++i) start_agent(0.0);
  for (Agent& a : agents_) a.state = AgentState::kIdle;  // already up at t = 0
  dispatch();
}

void SwarmModel::push(double at, EventKind kind, int index, std::uint64_t token) {
  events_.push(Event{at, seq_++, kind, index, token});
}

void SwarmModel::bill_until(double t) {
  if (t > billed_since_) {
    agent_seconds_ += (t - billed_since_) * billed_agents();
    billed_since_ = t;
  }
}

void SwarmModel::advance_to(double t) {
  while (!events_.empty() && events_.top().at <= t) {
    const Event e = events_.top();
    events_.pop();
    bill_until(e.at);
    now_ = std::max(now_, e.at);
    handle(e);
    dispatch();
  }
  bill_until(t);
  now_ = std::max(now_, t);
}

void SwarmModel::handle(const Event& e) {
  switch (e.kind) {
    case EventKind::kArrival:
      make_pending(e.index, e.at);
      break;
    case EventKind::kReady: {
      Agent& a = agents_[static_cast<std::size_t>(e.index)];
      if (a.state == AgentState::kStarting) {
        a.state = AgentState::kIdle;
        a.ready_s = e.at;
      }
      break;
    }
    case EventKind::kFinish:
      if (claim_token_[static_cast<std::size_t>(e.index)] == e.token) finish(e.index);
      break;
    case EventKind::kCrash:
      crash(crashes_[static_cast<std::size_t>(e.index)].agents);
      break;
  }
}

void SwarmModel::make_pending(int item, double at) {
  Item& it = items_[static_cast<std::size_t>(item)];
  it.state = Item::State::kPending;
  it.created_s = at;
  it.agent = -1;
  pending_.insert(PendingKey{-it.trace->priority, at, item});
}

void SwarmModel::settle_one() {
  if (++settled_ == std::ssize(items_)) {
    bill_until(now_);
    settled_at_ = now_;
    agent_seconds_at_settle_ = agent_seconds_;
  }
}

void SwarmModel::start_agent(double ready_s) {
  Agent a;
  a.id = fmt::format("sim-{}", next_agent_++);
  a.ready_s = ready_s;
  agents_.push_back(a);
  claim_token_.push_back(0);
  push(ready_s, EventKind::kReady, static_cast<int>(agents_.size()) - 1);
}

void SwarmModel::dispatch() {
  for (std::size_t i = 0; i < agents_.size() && !pending_.empty(); ++i) {
    Agent& a = agents_[i];
    if (a.state != AgentState::kIdle || a.stopping) continue;
    const PendingKey key = *pending_.begin();
    pending_.erase(pending_.begin());
    Item& it = items_[static_cast<std::size_t>(key.item)];
    it.state = Item::State::kClaimed;
    it.agent = static_cast<int>(i);
    it.claimed_s = now_;
    ItemOutcome& o = outcomes_[static_cast<std::size_t>(key.item)];
    if (!o.first_claim_s) o.first_claim_s = now_;
    a.state = AgentState::kBusy;
    a.item = key.item;
    a.claimed_s = now_;
    push(now_ + it.trace->duration_s, EventKind::kFinish, static_cast<int>(i), ++claim_token_[i]);
  }
}

void SwarmModel::finish(int agent) {
  Agent& a = agents_[static_cast<std::size_t>(agent)];
  Item& it = items_[static_cast<std::size_t>(a.item)];
  if (it.state == Item::State::kClaimed && it.agent == agent) {
    it.state = Item::State::kDone;
    outcomes_[static_cast<std::size_t>(a.item)].done_s = now_;
    done_.push_back(Done{a.item, it.created_s, it.claimed_s, now_});
    settle_one();
    // Keep the snapshot small: old completions count as archived (they keep counting).
    while (done_.size() > kMinCompletedKept &&
           now_ - done_.front().finished_s > options_.completed_window_s) {
      done_.erase(done_.begin());
      ++archived_;
    }
  }
  a.item = -1;
  a.state = a.stopping ? AgentState::kStopped : AgentState::kIdle;
  a.heartbeat_s = now_;
}

void SwarmModel::crash(int count) {
  // Busy agents first: a crash that leaves a claim behind is the case that needs repair.
  std::vector<std::size_t> victims;
  for (AgentState want : {AgentState::kBusy, AgentState::kIdle}) {
    for (std::size_t i = 0; i < agents_.size() && std::ssize(victims) < count; ++i) {
      if (agents_[i].state == want && !agents_[i].stopping) victims.push_back(i);
    }
  }
  for (std::size_t i : victims) {
    Agent& a = agents_[i];
    a.state = AgentState::kCrashed;
    a.heartbeat_s = now_;
    ++claim_token_[i];  // its item never finishes
    if (options_.replace_crashed) start_agent(now_ + options_.startup_lag_s);
  }
}

int SwarmModel::scale_to(int target, const std::vector<std::string>& stop_preference) {
  target = std::max(0, target);
  const int live = live_agents();
  if (target > live) {
    for (int i = live; i < target; ++i) start_agent(now_ + options_.startup_lag_s);
    return target - live;
  }
  int to_stop = live - target;
  auto stop = [&](Agent& a) {
    if (to_stop == 0 || a.stopping || a.state == AgentState::kCrashed ||
        a.state == AgentState::kStopped) {
      return;
    }
    --to_stop;
    if (a.state == AgentState::kBusy) {
      a.stopping = true;  // SIGTERM: it finishes its item, then exits
    } else {
      bill_until(now_);
      a.state = AgentState::kStopped;
      a.heartbeat_s = now_;
    }
  };
  for (Agent& a : agents_) {
    if (a.state == AgentState::kStarting) stop(a);
  }
  for (const std::string& id : stop_preference) {
    for (Agent& a : agents_) {
      if (a.id == id) stop(a);
    }
  }
  for (AgentState want : {AgentState::kIdle, AgentState::kBusy}) {
    for (Agent& a : agents_) {
      if (a.state == want) stop(a);
    }
  }
  return -(live - target - to_stop);
}

int SwarmModel::live_agents() const {
  return static_cast<int>(std::count_if(agents_.begin(), agents_.end(), [](const Agent& a) {
    return !a.stopping && (a.state == AgentState::kStarting || a.state == AgentState::kIdle ||
                           a.state == AgentState::kBusy);
  }));
}

int SwarmModel::billed_agents() const {
  return static_cast<int>(std::count_if(agents_.begin(), agents_.end(), [](const Agent& a) {
    return a.state == AgentState::kStarting || a.state == AgentState::kIdle ||
           a.state == AgentState::kBusy;
  }));
}

int SwarmModel::queue_size() const {
  return static_cast<int>(std::count_if(items_.begin(), items_.end(), [](const Item& it) {
    return it.state == Item::State::kPending || it.state == Item::State::kClaimed;
  }));
}

bool SwarmModel::all_settled() const { return settled_ == std::ssize(items_); }

double SwarmModel::last_arrival_s() const {
  return items_.empty() ? 0.0 : items_.back().trace->at_s;
}

std::string SwarmModel::item_id(int item) const {
  return items_[static_cast<std::size_t>(item)].trace->id;
}

Snapshot SwarmModel::snapshot() const {
  const TimePoint origin = options_.origin;
  Snapshot s;
  s.source = "simulation";
  std::size_t stopped_seen = 0;
  for (auto it = agents_.rbegin(); it != agents_.rend(); ++it) {
    const Agent& a = *it;
    if (a.state == AgentState::kStarting) continue;  // no heartbeat yet
    if (a.state == AgentState::kStopped && ++stopped_seen > kStoppedKept) continue;
    AgentRecord r;
    r.id = a.id;
    r.file = "agent_" + a.id + ".json";
    const bool alive = a.state == AgentState::kIdle || a.state == AgentState::kBusy;
    r.status = a.state == AgentState::kStopped ? "stopped"
               : a.stopping                    ? "draining"
               : a.state == AgentState::kIdle  ? "idle"
                                               : "busy";  // a crashed one keeps its last word
    r.heartbeat = at_time(origin, alive ? now_ : a.heartbeat_s);
    r.created = at_time(origin, a.ready_s);
    if (a.item >= 0) r.current_work = item_id(a.item);
    s.agents.push_back(std::move(r));
  }
  for (std::size_t i = 0; i < items_.size(); ++i) {
    const Item& it = items_[i];
    if (it.state != Item::State::kPending && it.state != Item::State::kClaimed) continue;
    WorkRecord w;
    w.id = it.trace->id;
    w.file = "work_" + w.id + ".json";
    w.priority = it.trace->priority;
    w.created = at_time(origin, it.created_s);
    w.attempts = it.attempts;
    if (it.state == Item::State::kClaimed) {
      w.status = "claimed";
      w.claimed_by = agents_[static_cast<std::size_t>(it.agent)].id;
      w.claimed_at = at_time(origin, it.claimed_s);
    } else {
      w.status = "pending";
    }
    s.work.push_back(std::move(w));
  }
  for (const Done& d : done_) {
    CompletedRecord c;
    c.id = item_id(d.item);
    c.file = "completed_" + c.id + ".json";
    c.status = "completed";
    c.finished = at_time(origin, d.finished_s);
    c.created = at_time(origin, d.created_s);
    c.claimed_at = at_time(origin, d.claimed_s);
    c.duration = std::chrono::milliseconds(std::llround((d.finished_s - d.claimed_s) * 1000));
    s.completed.push_back(std::move(c));
  }
  s.archived.succeeded = archived_;
  // A real agent writes one telemetry record per item it runs (src/agent/agent.cc); the health
  // score counts them. Only their number matters, so they count as archived.
  s.archived.telemetry = archived_ + static_cast<std::int64_t>(done_.size());
  return s;
}

RepairOutcome SwarmModel::apply(const std::vector<RepairAction>& actions) {
  RepairOutcome out;
  for (const RepairAction& a : actions) {
    const std::string prefix = a.file.starts_with("work_") ? "work_" : "";
    std::string id = a.file;
    if (!prefix.empty() && id.ends_with(".json")) id = id.substr(5, id.size() - 10);
    auto found = by_id_.find(id);
    if (found == by_id_.end() || (a.op != RepairOp::kRequeue && a.op != RepairOp::kDeadLetter)) {
      ++out.skipped;
      out.notes.push_back(
          fmt::format("{} {}: not applicable in the model", to_string(a.op), a.file));
      continue;
    }
    Item& it = items_[static_cast<std::size_t>(found->second)];
    const bool claimed = it.state == Item::State::kClaimed;
    if (a.op == RepairOp::kRequeue) {
      if (!claimed || (!a.expect_claimed_by.empty() &&
                       agents_[static_cast<std::size_t>(it.agent)].id != a.expect_claimed_by)) {
        ++out.skipped;
        continue;
      }
      ++it.attempts;
      make_pending(found->second, now_);
    } else {
      if (it.state != Item::State::kPending) {
        ++out.skipped;
        continue;
      }
      pending_.erase(PendingKey{-it.trace->priority, it.created_s, found->second});
      it.state = Item::State::kLost;
      outcomes_[static_cast<std::size_t>(found->second)].lost = true;
      settle_one();
    }
    ++out.applied;
  }
  dispatch();
  return out;
}

}  // namespace dslmodel::sim

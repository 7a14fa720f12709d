// A model swarm on a virtual clock (docs/simulate.md): agents start after a lag, claim the
// highest-priority oldest item, run it for its duration, report; they can crash, leaving their
// claim and a stale heartbeat behind, as a killed `dsl agent run` does. The model is what the
// engine's own store, actuator and clock see during `dsl auto simulate`. Not thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <queue>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "dslmodel/snapshot.h"
#include "dslmodel/store.h"
#include "sim/trace.h"

namespace dslmodel::sim {

struct ModelOptions {
  double startup_lag_s = 1.0;       // scale-up to first heartbeat
  int initial_agents = 0;           // running (ready) at t = 0
  bool replace_crashed = true;      // a supervisor restarts a crashed agent (after the lag)
  TimePoint origin{};               // the wall-clock time of t = 0
  double completed_window_s = 600;  // completed records kept in the snapshot; older are archived
};

// What became of one trace item.
struct ItemOutcome {
  double arrived_s = 0.0;
  std::optional<double> first_claim_s;  // when an agent first took it
  std::optional<double> done_s;
  bool lost = false;  // dead-lettered
};

class SwarmModel {
 public:
  SwarmModel(const Trace& trace, ModelOptions options);

  // Processes every event up to and including t (seconds since origin). t never goes back.
  void advance_to(double t);
  double now() const { return now_; }

  // The coordination state at now(), as a store would read it.
  Snapshot snapshot() const;

  // The actuator: brings the agents running or starting to `target`. Stops starting agents
  // first, then those named first in `stop_preference`, then idle, then busy ones (which finish
  // their item first). Returns how many were started (> 0) or stopped (< 0).
  int scale_to(int target, const std::vector<std::string>& stop_preference = {});
  // Agents running or starting, not stopping: what a scale target counts.
  int live_agents() const;
  // Agents that cost: running, starting or finishing before they stop.
  int billed_agents() const;

  // The store: requeue, dead_letter, archive; others are skipped with a note.
  RepairOutcome apply(const std::vector<RepairAction>& actions);

  // Items queued (pending + claimed, as the engine counts them).
  int queue_size() const;
  bool all_settled() const;  // every item arrived and is done or lost
  double last_arrival_s() const;
  double agent_seconds() const { return agent_seconds_; }
  // When the last item settled (done or lost), and the agent-seconds billed until then.
  std::optional<double> settled_at() const { return settled_at_; }
  double agent_seconds_at_settle() const { return agent_seconds_at_settle_; }
  const std::vector<ItemOutcome>& outcomes() const { return outcomes_; }

 private:
  enum class AgentState { kStarting, kIdle, kBusy, kCrashed, kStopped };
  struct Agent {
    std::string id;
    AgentState state = AgentState::kStarting;
    double ready_s = 0.0;
    double heartbeat_s = 0.0;  // frozen at the crash
    int item = -1;             // index into items_ while busy (and after a crash)
    double claimed_s = 0.0;
    bool stopping = false;  // exits when its item is done
  };
  struct Item {
    const TraceItem* trace = nullptr;
    enum class State { kFuture, kPending, kClaimed, kDone, kLost } state = State::kFuture;
    double created_s = 0.0;  // arrival, or the last requeue
    int attempts = 0;
    int agent = -1;
    double claimed_s = 0.0;
  };
  struct Done {
    int item = 0;
    double created_s = 0.0, claimed_s = 0.0, finished_s = 0.0;
  };
  enum class EventKind { kArrival, kReady, kFinish, kCrash };
  struct Event {
    double at = 0.0;
    std::uint64_t seq = 0;
    EventKind kind = EventKind::kArrival;
    int index = 0;
    std::uint64_t token = 0;  // kFinish: the agent's claim it belongs to
    bool operator>(const Event& o) const { return at != o.at ? at > o.at : seq > o.seq; }
  };
  // Pending order: higher priority first, then older, then trace order.
  struct PendingKey {
    std::int64_t neg_priority;
    double created_s;
    int item;
    bool operator<(const PendingKey& o) const {
      return std::tie(neg_priority, created_s, item) <
             std::tie(o.neg_priority, o.created_s, o.item);
    }
  };

  void push(double at, EventKind kind, int index, std::uint64_t token = 0);
  void handle(const Event& e);
  void start_agent(double ready_s);
  void dispatch();
  void finish(int agent);
  void crash(int count);
  void bill_until(double t);
  void make_pending(int item, double at);
  void settle_one();
  std::string item_id(int item) const;

  ModelOptions options_;
  std::vector<Item> items_;
  std::vector<ItemOutcome> outcomes_;
  std::vector<CrashEvent> crashes_;
  std::vector<Agent> agents_;
  std::set<PendingKey> pending_;
  std::priority_queue<Event, std::vector<Event>, std::greater<>> events_;
  std::vector<std::uint64_t> claim_token_;  // per agent
  std::map<std::string, int> by_id_;        // item id -> index
  std::vector<Done> done_;                  // recent completions, oldest first
  std::int64_t archived_ = 0;
  double now_ = 0.0;
  double billed_since_ = 0.0;
  double agent_seconds_ = 0.0;
  std::uint64_t seq_ = 0;
  int settled_ = 0;
  std::optional<double> settled_at_;
  double agent_seconds_at_settle_ = 0.0;
  int next_agent_ = 1;
};

}  // namespace dslmodel::sim

// ProcessActuator's monitor thread: reaps agents that exited on their own and replaces them after
// a backoff. Every function here runs on the monitor thread with mu_ held.
#include <algorithm>
#include <chrono>
#include <string>
#include <utility>

#include "actuate/process_supervisor.h"

namespace dslmodel::actuate {

void ProcessActuator::monitor(const std::stop_token& stop) {
  std::unique_lock lk(mu_);
  while (!stop.stop_requested()) {
    check_locked();
    // Wakes early only for stop; the predicate keeps spurious wake-ups harmless.
    const auto wait = next_wait_locked();
    (void)wake_.wait_for(lk, stop, wait, [] { return false; });
  }
}

void ProcessActuator::check_locked() {
  bool changed = reap_dead_locked();
  changed = start_due_locked() || changed;
  std::erase_if(unreaped_, [](const ProcessHandle& process) {
    if (!process.exited()) return false;
    process.reap();
    return true;
  });
  if (changed || dirty_) (void)save_locked();
}

bool ProcessActuator::reap_dead_locked() {
  const auto now = clock_.steady_now();
  bool changed = false;
  for (auto it = agents_.begin(); it != agents_.end();) {
    Agent& agent = it->second;
    if (agent.stopping || !agent.process.exited()) {
      ++it;
      continue;
    }
    agent.process.reap();
    ++stats_.deaths;
    if (config_.replace_dead) {
      // A slot whose agent stayed up long enough starts its backoff over.
      int deaths = now - agent.started_steady >= kStableUptime ? 1 : agent.record.deaths + 1;
      pending_.push_back(
          Pending{now + backoff(deaths), agent.record.slot, agent.record.decision_id, deaths});
    }
    it = agents_.erase(it);
    changed = true;
  }
  return changed;
}

bool ProcessActuator::start_due_locked() {
  const auto now = clock_.steady_now();
  bool changed = false;
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (it->due > now) {
      ++it;
      continue;
    }
    Result<std::string> id = spawn_locked(it->decision_id, it->slot, it->deaths);
    if (!id.ok()) {
      ++stats_.spawn_errors;
      it->deaths = std::min(it->deaths + 1, 64);
      it->due = now + backoff(it->deaths);
      ++it;
      continue;
    }
    ++stats_.replacements;
    changed = true;
    it = pending_.erase(it);
  }
  return changed;
}

std::chrono::milliseconds ProcessActuator::next_wait_locked() const {
  using std::chrono::milliseconds;
  milliseconds wait = kMonitorPeriod;
  const auto now = clock_.steady_now();
  for (const Pending& p : pending_) {
    wait = std::min(wait, std::chrono::ceil<milliseconds>(p.due - now));
  }
  return std::max(wait, milliseconds(1));
}

}  // namespace dslmodel::actuate

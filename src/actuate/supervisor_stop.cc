// ProcessActuator: choosing and stopping agents (SIGTERM, then SIGKILL after the grace), and the
// results scale() and undo() report.
#include <fmt/format.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "actuate/process_supervisor.h"

namespace dslmodel::actuate {
namespace {

using std::chrono::milliseconds;

constexpr std::size_t kIdsInSummary = 5;

// "a, b, c" for up to kIdsInSummary ids, then "... +N more".
std::string id_list(const std::vector<std::string>& ids) {
  std::string out;
  for (std::size_t i = 0; i < ids.size() && i < kIdsInSummary; ++i) {
    if (i > 0) out += ", ";
    out += ids[i];
  }
  if (ids.size() > kIdsInSummary) out += fmt::format(", ... +{} more", ids.size() - kIdsInSummary);
  return out;
}

std::string agents_word(std::size_t n) { return n == 1 ? "agent" : "agents"; }

}  // namespace

std::vector<ProcessActuator::Victim> ProcessActuator::claim_locked(
    const std::vector<std::string>& ids) {
  std::vector<Victim> victims;
  for (const std::string& id : ids) {
    auto it = agents_.find(id);
    if (it == agents_.end() || it->second.stopping) continue;
    it->second.stopping = true;
    victims.push_back(Victim{id, std::move(it->second.process)});
  }
  return victims;
}

std::vector<std::string> ProcessActuator::pick_victims_locked(
    std::size_t count, const std::vector<std::string>& preference) const {
  std::vector<std::string> chosen;
  std::set<std::string> taken;
  for (const std::string& id : preference) {
    if (chosen.size() >= count) return chosen;
    auto it = agents_.find(id);
    if (it == agents_.end() || it->second.stopping || !taken.insert(id).second) continue;
    chosen.push_back(id);
  }
  std::vector<const SupervisorEntry*> rest;
  for (const auto& [id, agent] : agents_) {
    if (!agent.stopping && !taken.contains(id)) rest.push_back(&agent.record);
  }
  std::sort(rest.begin(), rest.end(), [](const SupervisorEntry* a, const SupervisorEntry* b) {
    return a->started_at != b->started_at ? a->started_at > b->started_at : a->id > b->id;
  });
  for (std::size_t i = 0; i < rest.size() && chosen.size() < count; ++i) {
    chosen.push_back(rest[i]->id);
  }
  return chosen;
}

ActuationResult ProcessActuator::describe_started_locked(
    const std::vector<std::string>& ids) const {
  ActuationResult result;
  result.summary =
      fmt::format("started {} {} ({})", ids.size(), agents_word(ids.size()), id_list(ids));
  for (const std::string& id : ids) {
    result.output += fmt::format("{} pid {}\n", id, agents_.at(id).record.pid);
  }
  result.inverse = {{"kind", "process"}, {"started", ids}};
  return result;
}

ActuationResult ProcessActuator::stop_victims(std::vector<Victim> victims, milliseconds grace) {
  terminate(victims, grace);
  Status saved = finish_stop(victims);
  std::vector<std::string> ids;
  ActuationResult result;
  std::size_t killed = 0;
  for (const Victim& v : victims) {
    ids.push_back(v.id);
    killed += v.killed ? 1 : 0;
    result.output += fmt::format("{} pid {} {}\n", v.id, v.process.pid(),
                                 v.killed ? "killed after the grace period" : "exited");
  }
  result.summary =
      fmt::format("stopped {} {}{}{}", ids.size(), agents_word(ids.size()),
                  ids.empty() ? "" : fmt::format(" ({})", id_list(ids)),
                  killed == 0 ? "" : fmt::format(", {} killed after {}ms", killed, grace.count()));
  if (!saved.ok())
    result.output += fmt::format("state file not written (retried): {}\n", saved.message());
  result.inverse = {{"kind", "process"}, {"stopped", ids.size()}};
  return result;
}

void ProcessActuator::terminate(std::vector<Victim>& victims, milliseconds grace) const {
  std::vector<const ProcessHandle*> handles;
  for (const Victim& v : victims) {
    v.process.signal_group(SIGTERM);
    v.process.signal(SIGTERM);
    handles.push_back(&v.process);
  }
  if (wait_exited(handles, std::chrono::steady_clock::now() + grace) == 0) return;
  for (Victim& v : victims) {
    if (v.process.exited()) continue;
    v.killed = true;
    v.process.signal_group(SIGKILL);
    v.process.signal(SIGKILL);
  }
  (void)wait_exited(handles, std::chrono::steady_clock::now() + kKillWait);
}

Status ProcessActuator::finish_stop(std::vector<Victim>& victims) {
  std::lock_guard lock(mu_);
  for (Victim& v : victims) {
    if (v.process.exited()) {
      v.process.reap();
    } else {
      unreaped_.push_back(std::move(v.process));  // the monitor reaps it when the kernel is done
    }
    agents_.erase(v.id);
    ++stats_.stopped;
    stats_.killed += v.killed ? 1 : 0;
  }
  return save_locked();
}

Status ProcessActuator::stop_all(milliseconds grace) {
  std::lock_guard op(op_mu_);
  std::unique_lock lk(mu_);
  pending_.clear();
  std::vector<std::string> ids;
  for (const auto& [id, agent] : agents_) ids.push_back(id);
  std::vector<Victim> victims = claim_locked(ids);
  lk.unlock();
  terminate(victims, grace);
  return finish_stop(victims);
}

}  // namespace dslmodel::actuate

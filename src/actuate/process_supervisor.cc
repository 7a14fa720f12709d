// ProcessActuator: configuration, adoption, spawning, scale() and undo(). See the header.
#include "actuate/process_supervisor.h"

#include <fmt/format.h>
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <optional>
#include <set>
#include <string_view>
#include <system_error>
#include <utility>

#include "core/template.h"
#include "dslmodel/time.h"
#include "platform/files.h"
#include "platform/spawn.h"

namespace dslmodel::actuate {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using std::chrono::milliseconds;
using SteadyTime = std::chrono::steady_clock::time_point;

constexpr std::string_view kAgentId = "agent_id";
constexpr std::string_view kCoordinationDir = "coordination_dir";
constexpr std::int64_t kMaxUndoCount = 10000;

bool is_word_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_'; }

// Agent ids become file names (<id>.log): no path separators.
bool is_valid_prefix(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(),
                                   [](char c) { return is_word_char(c) || c == '-' || c == '.'; });
}

// The placeholders of agent_command, with what they stand for.
std::array<Placeholder, 2> placeholders(std::string_view agent_id, std::string_view dir) {
  return {Placeholder{kAgentId, agent_id}, Placeholder{kCoordinationDir, dir}};
}

Status validate(const SupervisorConfig& config) {
  if (config.agent_command.empty() || config.agent_command.front().empty()) {
    return Status(ErrorCode::kInvalidArgument, "supervisor agent_command is empty");
  }
  if (auto bad = find_unknown_placeholder(config.agent_command, placeholders("", ""))) {
    return Status(ErrorCode::kInvalidArgument,
                  fmt::format("supervisor agent_command argument {}: unknown placeholder {{{}}} "
                              "(known: {{agent_id}} {{coordination_dir}})",
                              bad->arg, bad->name));
  }
  if (!is_valid_prefix(config.id_prefix)) {
    return Status(ErrorCode::kInvalidArgument,
                  "supervisor id_prefix must be letters, digits, '-', '_' or '.'");
  }
  if (config.coordination_dir.empty()) {
    return Status(ErrorCode::kInvalidArgument, "supervisor coordination_dir is empty");
  }
  if (config.grace.count() < 0 || config.backoff_initial.count() < 0 ||
      config.backoff_max.count() < 0) {
    return Status(ErrorCode::kInvalidArgument, "supervisor durations must not be negative");
  }
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<ProcessActuator>> ProcessActuator::create(SupervisorConfig config,
                                                                 const Clock& clock) {
  if (Status valid = validate(config); !valid.ok()) return valid;
  if (config.state_file.empty()) {
    config.state_file = fs::path(config.coordination_dir) / ".dsl" / "supervisor.json";
  }
  std::unique_ptr<ProcessActuator> actuator(new ProcessActuator(std::move(config), clock));
  Result<DecodedState> state = load_state(actuator->config_.state_file);
  bool corrupt = !state.ok();
  if (corrupt) {
    // Degraded: the records are lost, the agents they named keep running unsupervised.
    fs::path aside = actuator->config_.state_file;
    aside += ".corrupt";
    std::error_code ec;
    fs::rename(actuator->config_.state_file, aside, ec);
    state = DecodedState{};
  }
  {
    std::lock_guard lock(actuator->mu_);
    actuator->stats_.state_file_corrupt = corrupt;
  }
  actuator->adopt_records(std::move(state).value());
  ProcessActuator* self = actuator.get();
  actuator->monitor_ = std::jthread([self](const std::stop_token& stop) { self->monitor(stop); });
  return actuator;
}

ProcessActuator::ProcessActuator(SupervisorConfig config, const Clock& clock)
    : config_(std::move(config)),
      clock_(clock),
      log_dir_(fs::path(config_.coordination_dir) / ".dsl" / "logs") {}

ProcessActuator::~ProcessActuator() {
  monitor_.request_stop();
  if (monitor_.joinable()) monitor_.join();
}

void ProcessActuator::adopt_records(DecodedState state) {
  std::lock_guard lock(mu_);
  const TimePoint now = clock_.now();
  const SteadyTime steady_now = clock_.steady_now();
  bool dropped = state.malformed > 0;
  for (SupervisorEntry& record : state.records) {
    std::optional<ProcessHandle> process = ProcessHandle::adopt(record.pid, record.start_time);
    if (!process || agents_.contains(record.id)) {
      ++stats_.stale_records;
      dropped = true;
      continue;
    }
    Agent agent;
    agent.started_steady = steady_now - std::max(now - record.started_at, TimePoint::duration{});
    agent.record = std::move(record);
    agent.process = std::move(*process);
    agent.adopted = true;
    ++stats_.adopted;
    std::string id = agent.record.id;
    agents_.emplace(std::move(id), std::move(agent));
  }
  if (dropped || stats_.state_file_corrupt) (void)save_locked();
}

std::vector<std::string> ProcessActuator::expand(const std::string& agent_id) const {
  return expand_argv(config_.agent_command, placeholders(agent_id, config_.coordination_dir));
}

milliseconds ProcessActuator::backoff(int deaths) const {
  milliseconds wait = config_.backoff_initial;
  for (int i = 1; i < deaths && wait < config_.backoff_max; ++i) wait *= 2;
  return std::min(wait, config_.backoff_max);
}

std::string ProcessActuator::next_id_locked() {
  std::string id;
  do {
    id = fmt::format("{}-{}-{}", config_.id_prefix, unix_millis(clock_.now()), ++id_counter_);
  } while (agents_.contains(id));
  return id;
}

Result<std::string> ProcessActuator::spawn_locked(const std::string& decision_id,
                                                  const std::string& slot, int deaths) {
  for (const fs::path& d : {log_dir_.parent_path(), log_dir_}) {  // .dsl/, .dsl/logs/
    if (Status s = platform::ensure_state_directory(d); !s.ok()) return s;
  }
  std::string id = next_id_locked();
  Result<pid_t> pid = platform::spawn_detached(expand(id), log_dir_ / (id + ".log"));
  if (!pid.ok()) return pid.status();
  std::optional<ProcessHandle> process = ProcessHandle::attach_child(*pid);
  if (!process) {
    ::kill(*pid, SIGKILL);
    ::waitpid(*pid, nullptr, 0);
    return Status(ErrorCode::kUnavailable,
                  fmt::format("started {} as pid {} but cannot read /proc for it",
                              config_.agent_command.front(), *pid));
  }
  Agent agent;
  agent.record = SupervisorEntry{
      id, slot.empty() ? id : slot, *pid, process->start_time(), clock_.now(), decision_id, deaths};
  agent.process = std::move(*process);
  agent.started_steady = clock_.steady_now();
  agents_.emplace(id, std::move(agent));
  ++stats_.started;
  return id;
}

Status ProcessActuator::save_locked() {
  std::vector<SupervisorEntry> records;
  records.reserve(agents_.size());
  // Agents being stopped stay recorded until they are gone: a supervisor that dies meanwhile
  // leaves them for the next one to adopt rather than leaking them.
  for (const auto& [id, agent] : agents_) records.push_back(agent.record);
  Status saved = save_state(config_.state_file, records);
  dirty_ = !saved.ok();
  if (dirty_) ++stats_.state_write_errors;
  return saved;
}

int ProcessActuator::live_locked() const {
  return static_cast<int>(std::count_if(agents_.begin(), agents_.end(),
                                        [](const auto& entry) { return !entry.second.stopping; }));
}

Result<ActuationResult> ProcessActuator::start_agents(std::unique_lock<std::mutex>& lk, int count,
                                                      const std::string& decision_id) {
  std::vector<std::string> ids;
  Status status = Status::Ok();
  for (int i = 0; i < count && status.ok(); ++i) {
    Result<std::string> id = spawn_locked(decision_id, "", 0);
    if (id.ok()) {
      ids.push_back(std::move(id).value());
    } else {
      status = id.status();
    }
  }
  if (status.ok()) status = save_locked();
  if (status.ok()) {
    ActuationResult result = describe_started_locked(ids);
    lk.unlock();
    return result;
  }
  std::vector<Victim> victims = claim_locked(ids);
  lk.unlock();
  if (victims.empty()) return status;
  terminate(victims, config_.grace);
  (void)finish_stop(victims);
  return Status(status.code(), fmt::format("started {} of {} agents, then stopped them: {}",
                                           ids.size(), count, status.message()));
}

Result<ActuationResult> ProcessActuator::scale(const ScaleRequest& request) {
  if (request.target_agents < 0) {
    return Status(ErrorCode::kInvalidArgument,
                  fmt::format("target_agents must not be negative, got {}", request.target_agents));
  }
  std::lock_guard op(op_mu_);
  std::unique_lock lk(mu_);
  pending_.clear();
  const int live = live_locked();
  // The target is for the whole swarm: agents the engine counts that this supervisor does not
  // run (started by hand, on another host) take their share of it.
  const int unmanaged =
      static_cast<int>(std::count_if(request.active_agents.begin(), request.active_agents.end(),
                                     [&](const std::string& id) { return !agents_.contains(id); }));
  const int target = std::max(0, request.target_agents - unmanaged);
  if (target > live) {
    return start_agents(lk, target - live, request.decision_id);
  }
  if (target < live) {
    std::vector<Victim> victims = claim_locked(
        pick_victims_locked(static_cast<std::size_t>(live - target), request.stop_preference));
    lk.unlock();
    return stop_victims(std::move(victims), config_.grace);
  }
  ActuationResult result;
  result.summary = fmt::format("already at {} {} (engine counted {})", live,
                               live == 1 ? "agent" : "agents", request.current_agents);
  result.inverse = {{"kind", "process"}, {"started", json::array()}};
  return result;
}

Result<ActuationResult> ProcessActuator::undo(const json& inverse) {
  auto kind = inverse.is_object() ? inverse.find("kind") : inverse.end();
  bool ours = kind != inverse.end() && kind->is_string() && *kind == "process";
  auto started = ours ? inverse.find("started") : inverse.end();
  auto stopped = ours ? inverse.find("stopped") : inverse.end();
  std::set<std::string> ids;
  bool valid = started != inverse.end() && started->is_array();
  for (const json& id : valid ? *started : json::array()) {
    valid = valid && id.is_string();
    if (valid) ids.insert(id.get<std::string>());
  }
  if (!valid &&
      (stopped == inverse.end() || !stopped->is_number_integer() ||
       stopped->get<std::int64_t>() < 0 || stopped->get<std::int64_t>() > kMaxUndoCount)) {
    return Status(ErrorCode::kInvalidArgument,
                  "not a process actuator inverse: needs kind \"process\" and either \"started\" "
                  "(an array of agent ids) or \"stopped\" (a count from 0 to 10000)");
  }
  std::lock_guard op(op_mu_);
  std::unique_lock lk(mu_);
  if (!valid) return start_agents(lk, static_cast<int>(stopped->get<std::int64_t>()), "undo");
  std::erase_if(pending_, [&ids](const Pending& p) { return ids.contains(p.slot); });
  std::vector<std::string> chosen;
  for (const auto& [id, agent] : agents_) {
    if (ids.contains(id) || ids.contains(agent.record.slot)) chosen.push_back(id);
  }
  std::vector<Victim> victims = claim_locked(chosen);
  lk.unlock();
  return stop_victims(std::move(victims), config_.grace);
}

std::string ProcessActuator::name() const { return "process"; }

std::vector<SupervisedAgent> ProcessActuator::agents() const {
  std::vector<SupervisedAgent> out;
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, agent] : agents_) {
      if (agent.stopping) continue;
      out.push_back(SupervisedAgent{id, agent.record.pid, agent.record.started_at, agent.adopted,
                                    agent.record.decision_id});
    }
  }
  std::sort(out.begin(), out.end(), [](const SupervisedAgent& a, const SupervisedAgent& b) {
    return a.started_at != b.started_at ? a.started_at < b.started_at : a.id < b.id;
  });
  return out;
}

SupervisorStats ProcessActuator::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

std::size_t ProcessActuator::pending_replacements() const {
  std::lock_guard lock(mu_);
  return pending_.size();
}

}  // namespace dslmodel::actuate

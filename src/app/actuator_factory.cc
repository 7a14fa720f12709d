#include "app/actuator_factory.h"

#include <filesystem>

#include "actuate/command_actuator.h"
#include "actuate/process_supervisor.h"
#include "app/backends.h"
#include "app/pool_actuator.h"

namespace dslmodel {

namespace {

// Stands in for the configured actuator in commands that never act.
class ObservingActuator final : public Actuator {
 public:
  explicit ObservingActuator(std::string kind) : kind_(std::move(kind)) {}
  Result<ActuationResult> scale(const ScaleRequest&) override { return refuse(); }
  Result<ActuationResult> undo(const nlohmann::json&) override { return refuse(); }
  std::string name() const override { return kind_; }

 private:
  static Status refuse() {
    return {ErrorCode::kInvalidArgument, "this command only observes; it does not scale"};
  }
  std::string kind_;
};

}  // namespace

Result<std::unique_ptr<actuate::ProcessActuator>> make_supervisor(const Config& config,
                                                                  const Clock& clock) {
  const ActuatorConfig& a = config.actuator;
  if (a.agent_command.empty()) {
    return Status(ErrorCode::kInvalidArgument, "actuator.agent_command is empty");
  }
  actuate::SupervisorConfig s;
  s.agent_command = a.agent_command;
  s.coordination_dir = config.coordination_dir;
  s.state_file = std::filesystem::path(config.coordination_dir) / ".dsl" / "supervisor.json";
  s.grace = a.agent_grace;
  s.replace_dead = a.replace_dead_agents;
  return actuate::ProcessActuator::create(std::move(s), clock);
}

Result<std::unique_ptr<Actuator>> make_actuator(const Config& config, const Clock& clock) {
  const ActuatorConfig& a = config.actuator;
  std::string kind = a.kind;
  if (kind == "auto") kind = a.scale_command.empty() ? "none" : "command";
  if (kind == "none") return std::unique_ptr<Actuator>();
  if (kind == "pool" && !uses_etcd(config)) {
    return Status(ErrorCode::kInvalidArgument,
                  "actuator.kind \"pool\" needs an etcd store (--store etcd://...)");
  }
  if (a.observe_only) return std::unique_ptr<Actuator>(std::make_unique<ObservingActuator>(kind));
  if (kind == "command") {
    auto made = actuate::CommandActuator::create(a, config.coordination_dir);
    if (!made.ok()) return made.status();
    return std::unique_ptr<Actuator>(std::move(made).value());
  }
  if (kind == "process") {
    auto made = make_supervisor(config, clock);
    if (!made.ok()) return made.status();
    return std::unique_ptr<Actuator>(std::move(made).value());
  }
  if (kind == "pool") {
    PoolActuator::Options options;
    options.timeout = a.timeout;
    auto made = PoolActuator::create(config.store.url, options, clock);
    if (!made.ok()) return made.status();
    return std::unique_ptr<Actuator>(std::move(made).value());
  }
  return Status(ErrorCode::kInvalidArgument, "unknown actuator.kind '" + kind + "'");
}

}  // namespace dslmodel

#include "factory/actuator_factory.h"

#include <filesystem>

#include "actuate/command_actuator.h"
#include "actuate/pool_actuator.h"
#include "actuate/process_supervisor.h"
#include "factory/backends.h"

namespace dslmodel {

namespace {

// Stands in for the configured actuator in commands that never act.
class ObservingActuator final : public Actuator {
 public:
  explicit ObservingActuator(ActuatorKind kind) : kind_(to_string(kind)) {}
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

Result<std::unique_ptr<Actuator>> make_actuator(const Config& config, const Clock& clock,
                                                std::shared_ptr<etcd::Client> etcd) {
  const ActuatorConfig& a = config.actuator;
  ActuatorKind kind = a.kind;
  if (kind == ActuatorKind::kAuto) {
    kind = a.scale_command.empty() ? ActuatorKind::kNone : ActuatorKind::kCommand;
  }
  if (kind == ActuatorKind::kNone) return std::unique_ptr<Actuator>();
  if (kind == ActuatorKind::kPool && !uses_etcd(config)) {
    return Status(ErrorCode::kInvalidArgument,
                  "actuator.kind \"pool\" needs an etcd store (--store etcd://...)");
  }
  if (a.observe_only) return std::unique_ptr<Actuator>(std::make_unique<ObservingActuator>(kind));
  if (kind == ActuatorKind::kCommand) {
    auto made = actuate::CommandActuator::create(a, config.coordination_dir);
    if (!made.ok()) return made.status();
    return std::unique_ptr<Actuator>(std::move(made).value());
  }
  if (kind == ActuatorKind::kProcess) {
    auto made = make_supervisor(config, clock);
    if (!made.ok()) return made.status();
    return std::unique_ptr<Actuator>(std::move(made).value());
  }
  actuate::PoolActuator::Options options;
  options.timeout = a.timeout;
  auto made = actuate::PoolActuator::create(config.store.url, options, clock, std::move(etcd));
  if (!made.ok()) return made.status();
  return std::unique_ptr<Actuator>(std::move(made).value());
}

}  // namespace dslmodel

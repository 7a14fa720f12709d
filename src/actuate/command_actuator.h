// CommandActuator: scales the swarm by running an operator-supplied orchestrator command.
//
// The command is an argv template (ActuatorConfig::scale_command) executed directly with
// posix_spawnp, never through a shell. Placeholders inside any argument are replaced by plain
// string substitution: {target_agents} {current_agents} {delta} {decision_id} {coordination_dir}.
// Text in braces that is not an identifier (e.g. a JSON literal "{\"a\":1}") is left alone.
//
// Thread-safety: immutable after create(); scale() and undo() may run from any thread, each call
// blocks its caller until the command ends or times out.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "dslmodel/actuator.h"
#include "dslmodel/config.h"
#include "dslmodel/status.h"

namespace dslmodel::actuate {

class CommandActuator final : public Actuator {
 public:
  // The most output kept from one run (the tail), in bytes.
  static constexpr std::size_t kMaxOutput = std::size_t{16} * 1024;

  // Validates the template. Fails with kInvalidArgument when config.scale_command is empty,
  // its program is empty, or an argument holds an unknown placeholder (the message names it).
  static Result<std::unique_ptr<CommandActuator>> create(const ActuatorConfig& config,
                                                         std::string coordination_dir);

  // Runs the template for request, with config.timeout. On exit 0: summary
  // "scaled from C to T agents via <argv0>", the output tail, and the inverse
  // {"kind":"command","current_agents":T,"target_agents":C,"decision_id":id,
  //  "argv_template":[...]}. Fails: kUnavailable "cannot start <argv0>: ..." or
  // "<argv0> exited with N: <last output line>" (or "killed by signal N"), kTimeout
  // "<argv0> timed out after Ns".
  Result<ActuationResult> scale(const ScaleRequest& request) override;

  // Scales from inverse.current_agents back to inverse.target_agents with the configured
  // template ({decision_id} becomes "undo-<id>"). The result's inverse redoes the original.
  // Fails with kInvalidArgument when inverse is not a "command" inverse, else as scale().
  Result<ActuationResult> undo(const nlohmann::json& inverse) override;

  // "command".
  std::string name() const override;

  const std::vector<std::string>& argv_template() const { return argv_template_; }

  // The template with every placeholder of request substituted. Pure.
  std::vector<std::string> expand(const ScaleRequest& request) const;

 private:
  CommandActuator(ActuatorConfig config, std::string coordination_dir);

  std::vector<std::string> argv_template_;
  std::chrono::seconds timeout_;
  std::string coordination_dir_;
};

}  // namespace dslmodel::actuate

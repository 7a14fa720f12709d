// Actuator: how a scaling decision changes the number of agents for real.
// Implementations are used from one thread at a time.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "dslmodel/status.h"

namespace dslmodel {

struct ScaleRequest {
  int current_agents = 0;
  int target_agents = 0;
  std::string decision_id;
  // Agent ids in the order they should be stopped when scaling down: idle ones first, then the
  // ones whose heartbeat is oldest. An actuator may ignore it.
  std::vector<std::string> stop_preference;
  // Ids of the agents the engine counted as active. An actuator that runs only some of the
  // swarm uses it to leave the others' share of the target alone.
  std::vector<std::string> active_agents;
  // The leader epoch the engine holds (0: no leader election). An actuator that writes to a
  // store able to check it refuses the change once that epoch is no longer the leader's.
  std::int64_t epoch = 0;
};

struct ActuationResult {
  std::string summary;  // one line for humans: "scaled to 5 agents"
  std::string output;   // what the mechanism printed (bounded), kept in the journal
  nlohmann::json inverse = nlohmann::json::object();  // what undo() needs
};

class Actuator {
 public:
  Actuator() = default;
  Actuator(const Actuator&) = delete;
  Actuator& operator=(const Actuator&) = delete;
  virtual ~Actuator() = default;

  // Brings the swarm to request.target_agents. Blocks until done or timed out.
  // Fails with kUnavailable (could not start), kTimeout, or kIo; the error message says which.
  virtual Result<ActuationResult> scale(const ScaleRequest& request) = 0;

  // Reverses a scale() by its inverse. Blocks.
  virtual Result<ActuationResult> undo(const nlohmann::json& inverse) = 0;

  // "command", "process", ...
  virtual std::string name() const = 0;
};

}  // namespace dslmodel

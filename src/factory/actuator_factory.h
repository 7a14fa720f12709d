// Builds the Actuator that config.actuator.kind names. Thread-safe (no shared state).
#pragma once

#include <memory>

#include "actuate/process_supervisor.h"
#include "dslmodel/actuator.h"
#include "dslmodel/clock.h"
#include "dslmodel/config.h"
#include "dslmodel/status.h"
#include "etcd/client.h"

namespace dslmodel {

// The process supervisor of config.coordination_dir's agents (state in .dsl/supervisor.json).
// kInvalidArgument when actuator.agent_command is empty. `clock` must outlive it.
Result<std::unique_ptr<actuate::ProcessActuator>> make_supervisor(const Config& config,
                                                                  const Clock& clock);

// "command" → CommandActuator, "process" → ProcessActuator (its agent_command must be set),
// "pool" → PoolActuator on config.store.url (kInvalidArgument unless it is an etcd URL),
// "none" → nullptr, "auto" → "command" when scale_command is set, else nullptr. With
// observe_only, a stand-in that names the kind and refuses to act.
// Fails with kInvalidArgument when the configuration cannot make the named actuator.
// The returned actuator may keep a reference to `clock`: it must outlive it. A pool actuator
// talks through `etcd` when given (the client the other adapters of the URL share).
Result<std::unique_ptr<Actuator>> make_actuator(const Config& config, const Clock& clock,
                                                std::shared_ptr<etcd::Client> etcd = nullptr);

}  // namespace dslmodel

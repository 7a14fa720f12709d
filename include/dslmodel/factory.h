// Builds an engine's adapters from a Config: the embedder's way to get what `dsl` runs.
//
//   dslmodel::Config config;                                  // or dslmodel/config_loader.h
//   auto engine = dslmodel::make_engine(config);              // Result<unique_ptr<Engine>>
//   if (!engine.ok()) { /* engine.status().message() says what is wrong */ }
//
// The store is a DirStore on config.coordination_dir, or with store.url = "etcd://..." an
// EtcdStore; the journal sits beside it (<dir>/.dsl/journal.jsonl, or keys under the prefix);
// with config.leader_election a leader elector (a lock file in <dir>/.dsl, an etcd lease); the
// actuator config.actuator.kind names (dslmodel/config.h). All etcd adapters of one call share
// one client. Nothing here touches the network or the disk beyond what an actuator does when it
// is made (the process supervisor adopts the agents its state file names). Thread-safe: no
// shared state.
#pragma once

#include <memory>

#include "dslmodel/config.h"
#include "dslmodel/engine.h"
#include "dslmodel/status.h"

namespace dslmodel {

// The parts config names, with the system clock and no exporter (set parts.exporter to emit
// spans). With leader election and an actuator configured, the actuator is left to
// parts.actuator_source: it is made when the replica wins leadership.
// Fails with kInvalidArgument for a bad store URL or an actuator the configuration cannot make
// (e.g. kind "pool" without an etcd store, kind "command" without a scale_command); the message
// names the setting. Never falls back to another store.
Result<EngineParts> make_engine_parts(const Config& config);

// An engine over make_engine_parts(config); fails as it does.
Result<std::unique_ptr<AutonomousDecisionEngine>> make_engine(const Config& config);

}  // namespace dslmodel

// The "processes" member of a claimed work record (ClaimProcesses, docs/agents.md) and the check
// a requeue makes against it on this host. Shared by the dir and etcd backends (private to
// src/store). Thread-safe: no shared state.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "dslmodel/snapshot.h"

namespace dslmodel::store::detail {

// {"host","pid_space","pid","pid_start","pgid","pgid_start"}.
nlohmann::ordered_json processes_json(const ClaimProcesses& p);

// The record's "processes", or nullopt when absent or malformed (pids must be positive integers,
// pid_space a non-empty string).
std::optional<ClaimProcesses> processes_of(const nlohmann::ordered_json& doc);

// Why a requeue of claim `doc` must wait now (core's requeue_wait_reason, fed with what this
// host's /proc says about the recorded processes); nullopt when it may go ahead.
std::optional<std::string> requeue_wait(const nlohmann::ordered_json& doc);

}  // namespace dslmodel::store::detail

// Loading the engine's Config: defaults < TOML config file < environment < flags (DESIGN §7).
// Pure apart from reading the named file; thread-safe.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "dslmodel/config.h"
#include "dslmodel/status.h"

namespace dslmodel::app {

// Looks up an environment variable; nullopt when unset. Injected so tests need no setenv.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;

// The process environment.
EnvLookup process_env();

// Applies a TOML config file to `config`. Fails with kNotFound when the file is missing and
// kInvalidArgument for a syntax error, an unknown key or a wrong value, the message naming
// "<file>:<line>" and the key.
Status apply_config_file(const std::string& path, Config& config);

// Applies DSLMODEL_COORDINATION_DIR, DSLMODEL_AUTO_MIN_CONFIDENCE, DSLMODEL_AUTO_MAX_AGENTS,
// DSLMODEL_AUTO_SCALE_FACTOR, DSLMODEL_AUTO_DRY_RUN, DSLMODEL_AUTO_LEADER_ELECTION,
// DSLMODEL_LOG_LEVEL and LOGURU_LEVEL. Fails with kInvalidArgument naming the variable and value.
Status apply_environment(const EnvLookup& env, Config& config);

// Checks relations between settings (min_agents <= max_agents, ranges). kInvalidArgument
// naming the setting.
Status validate_config(const Config& config);

// Parses "true/false/1/0/yes/no/on/off" (any case).
std::optional<bool> parse_bool(std::string_view text);

}  // namespace dslmodel::app

// Loading the engine's Config: defaults < TOML config file < environment < flags (README.md).
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
// kInvalidArgument for a syntax error, an unknown key, a wrong value or a number out of its range
// (app/bounds.h; NaN and infinities are never in range), the message naming "<file>:<line>", the
// key, the allowed range and the value; or a constant label name Prometheus would not accept.
Status apply_config_file(const std::string& path, Config& config);

// Applies DSLMODEL_COORDINATION_DIR, DSLMODEL_AUTO_MIN_CONFIDENCE, DSLMODEL_AUTO_MAX_AGENTS,
// DSLMODEL_AUTO_SCALE_FACTOR, DSLMODEL_AUTO_DRY_RUN, DSLMODEL_AUTO_LEADER_ELECTION,
// DSLMODEL_LOG_LEVEL and LOGURU_LEVEL. A variable set to the empty string is unset. Numbers share
// the range of the file setting they override. Fails with kInvalidArgument naming the variable,
// the value and what was expected.
Status apply_environment(const EnvLookup& env, Config& config);

// Checks relations between settings (min_agents <= max_agents, ranges). kInvalidArgument
// naming the setting.
Status validate_config(const Config& config);

// Parses "true/false/1/0/yes/no/on/off" (any case); anything else, the empty string too, is
// nullopt.
std::optional<bool> parse_bool(std::string_view text);

}  // namespace dslmodel::app

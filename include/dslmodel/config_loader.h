// Loading the engine's Config: defaults < TOML config file < environment (docs/configuration.md).
// The command line adds its flags on top; an embedder stops here and hands the Config to
// make_engine (dslmodel/factory.h):
//
//   auto config = dslmodel::load_config("dslmodel.toml");      // Result<Config>
//   if (!config.ok()) { /* config.status().message() names the file:line or the variable */ }
//   auto engine = dslmodel::make_engine(*config);
//
// Pure apart from reading the named file and, through process_env(), the environment;
// thread-safe as far as the EnvLookup given is.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "dslmodel/config.h"
#include "dslmodel/status.h"

namespace dslmodel {

// Looks up an environment variable; nullopt when unset. Injected so tests need no setenv.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;

// The process environment (std::getenv).
EnvLookup process_env();

// Applies a TOML config file to `config`. Fails with kNotFound when the file is missing and
// kInvalidArgument for a syntax error, an unknown key, a wrong value or a number out of its range
// (docs/configuration.md; NaN and infinities are never in range), the message naming
// "<file>:<line>", the key, the allowed range and the value; or a constant label name Prometheus
// would not accept.
Status apply_config_file(const std::string& path, Config& config);

// Applies DSLMODEL_COORDINATION_DIR, DSLMODEL_STORE, DSLMODEL_AUTO_MIN_CONFIDENCE,
// DSLMODEL_AUTO_MAX_AGENTS, DSLMODEL_AUTO_SCALE_FACTOR, DSLMODEL_AUTO_DRY_RUN,
// DSLMODEL_AUTO_LEADER_ELECTION, DSLMODEL_LOG_LEVEL and LOGURU_LEVEL. A variable set to the empty
// string is unset. Numbers share the range of the file setting they override. Fails with
// kInvalidArgument naming the variable, the value and what was expected.
Status apply_environment(const EnvLookup& env, Config& config);

// The file and then the environment, without validation (for callers that add layers of their
// own, such as command-line flags, before validate_config): `file` when given and not empty,
// else $DSLMODEL_CONFIG when set, else no file. Fails as apply_config_file and
// apply_environment do.
Status apply_file_and_environment(const std::optional<std::string>& file, const EnvLookup& env,
                                  Config& config);

// Checks relations between settings (min_agents <= max_agents, ranges, the store URL).
// kInvalidArgument naming the setting.
Status validate_config(const Config& config);

// Defaults < file < environment, validated: apply_file_and_environment on a default Config, then
// validate_config. Fails as they do (kNotFound only for a config file that is missing).
Result<Config> load_config(const std::optional<std::string>& file,
                           const EnvLookup& env = process_env());

// Parses "true/false/1/0/yes/no/on/off" (any case); anything else, the empty string too, is
// nullopt.
std::optional<bool> parse_bool(std::string_view text);

}  // namespace dslmodel

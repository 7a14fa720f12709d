#include "dslmodel/config_loader.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "config/setting_table.h"
#include "factory/backends.h"

namespace dslmodel {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

EnvLookup process_env() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());  // NOLINT(concurrency-mt-unsafe)
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

std::optional<bool> parse_bool(std::string_view text) {
  std::string t = lower(text);
  if (t == "true" || t == "1" || t == "yes" || t == "on") return true;
  if (t == "false" || t == "0" || t == "no" || t == "off") return false;
  return std::nullopt;
}

namespace {

Status env_error(std::string_view name, std::string_view value, std::string_view expected) {
  return {ErrorCode::kInvalidArgument,
          fmt::format("invalid {}='{}': expected {}", name, value, expected)};
}

// The numeric variables, each the override of one file setting (and so of its range).
struct EnvSetting {
  std::string_view name;
  std::string_view key;
};
constexpr EnvSetting kEnvSettings[] = {
    {"DSLMODEL_AUTO_MIN_CONFIDENCE", "engine.min_confidence"},
    {"DSLMODEL_AUTO_MAX_AGENTS", "policy.max_agents"},
    {"DSLMODEL_AUTO_SCALE_FACTOR", "policy.scale_factor"},
};

Status apply_env_setting(std::string_view name, std::string_view key, const std::string& value,
                         Config& config) {
  if (const config::IntSetting* s = config::find_int_setting(key)) {
    std::optional<std::int64_t> v = parse_int(value);
    if (!v || !contains(s->bounds, *v)) return env_error(name, value, describe(s->bounds));
    s->set(config, *v);
    return Status::Ok();
  }
  const config::RealSetting* s = config::find_real_setting(key);
  std::optional<double> v = parse_real(value);
  if (!v || !contains(s->bounds, *v)) return env_error(name, value, describe(s->bounds));
  s->set(config, *v);
  return Status::Ok();
}

}  // namespace

Status apply_environment(const EnvLookup& lookup, Config& config) {
  // An empty variable is unset (docs/configuration.md): `DSLMODEL_AUTO_DRY_RUN=` must not turn
  // a dry run from the config file into a live one.
  const auto env = [&lookup](const std::string& name) -> std::optional<std::string> {
    std::optional<std::string> v = lookup(name);
    if (v && v->empty()) return std::nullopt;
    return v;
  };
  if (auto v = env("DSLMODEL_COORDINATION_DIR")) config.coordination_dir = *v;
  if (auto v = env("DSLMODEL_STORE")) config.store.url = *v;
  for (const EnvSetting& e : kEnvSettings) {
    if (auto v = env(std::string(e.name))) {
      if (Status s = apply_env_setting(e.name, e.key, *v, config); !s.ok()) return s;
    }
  }
  for (const char* name : {"DSLMODEL_AUTO_DRY_RUN", "DSLMODEL_AUTO_LEADER_ELECTION"}) {
    if (auto v = env(name)) {
      auto b = parse_bool(*v);
      if (!b) return env_error(name, *v, "true or false");
      (std::string_view(name) == "DSLMODEL_AUTO_DRY_RUN" ? config.gate.dry_run
                                                         : config.leader_election) = *b;
    }
  }
  for (const char* name : {"LOGURU_LEVEL", "DSLMODEL_LOG_LEVEL"}) {
    if (auto v = env(name)) {
      std::string l = lower(*v);
      if (l == "success") l = "info";
      if (l == "warning") l = "warn";
      if (l == "error" || l == "critical") l = l == "error" ? "err" : "critical";
      static constexpr std::string_view kLevels[] = {"trace", "debug",    "info", "warn",
                                                     "err",   "critical", "off"};
      if (std::find(std::begin(kLevels), std::end(kLevels), l) == std::end(kLevels)) {
        return env_error(name, *v, "one of trace, debug, info, warning, error, critical, off");
      }
      config.log_level = l;
    }
  }
  return Status::Ok();
}

Status validate_config(const Config& c) {
  const PolicyConfig& p = c.policy;
  if (p.max_agents < 1) {
    return {ErrorCode::kInvalidArgument, "policy.max_agents must be at least 1"};
  }
  if (p.min_agents > p.max_agents) {
    return {
        ErrorCode::kInvalidArgument,
        fmt::format("policy.min_agents ({}) is above max_agents ({})", p.min_agents, p.max_agents)};
  }
  if (c.gate.min_confidence < 0 || c.gate.min_confidence > 1) {
    return {ErrorCode::kInvalidArgument, "min_confidence must be from 0 to 1"};
  }
  if (c.actuator.kind == ActuatorKind::kCommand && c.actuator.scale_command.empty()) {
    return {ErrorCode::kInvalidArgument,
            "actuator.kind is \"command\" but actuator.scale_command is empty"};
  }
  if (Status s = validate_store_url(c.store.url); !s.ok()) return s;
  if (c.ha.lease_ttl < Seconds(1)) {
    return {ErrorCode::kInvalidArgument, "engine.lease_ttl must be at least 1 second"};
  }
  if (c.coordination_dir.empty()) {
    return {ErrorCode::kInvalidArgument, "the coordination directory is empty"};
  }
  return Status::Ok();
}

Status apply_file_and_environment(const std::optional<std::string>& file, const EnvLookup& env,
                                  Config& config) {
  std::string path = file.value_or("");
  if (path.empty()) path = env("DSLMODEL_CONFIG").value_or("");
  if (!path.empty()) {
    if (Status s = apply_config_file(path, config); !s.ok()) return s;
  }
  return apply_environment(env, config);
}

Result<Config> load_config(const std::optional<std::string>& file, const EnvLookup& env) {
  Config config;
  if (Status s = apply_file_and_environment(file, env, config); !s.ok()) return s;
  if (Status s = validate_config(config); !s.ok()) return s;
  return config;
}

}  // namespace dslmodel

#include "app/config_loader.h"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <string_view>

#include "app/bounds.h"
#include "factory/backends.h"
#include "telemetry/prometheus.h"

namespace dslmodel::app {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Where a TOML node sits, for messages: "file:line".
std::string where(const std::string& path, const toml::node& node) {
  return fmt::format("{}:{}", path, node.source().begin.line);
}

Status bad(const std::string& path, const toml::node& node, std::string_view key,
           std::string_view expected) {
  return {ErrorCode::kInvalidArgument,
          fmt::format("{}: invalid value for '{}': expected {}", where(path, node), key, expected)};
}

// A numeric setting: its key in the config file, its range, and where it goes. Every integer and
// float setting is in one of these tables, so the file, the environment and the flags that name
// a setting share its range (docs/configuration.md).
struct IntSetting {
  std::string_view key;
  IntBounds bounds;
  void (*set)(Config&, std::int64_t);  // the value is within bounds, so narrowing is exact
};
struct RealSetting {
  std::string_view key;
  RealBounds bounds;
  void (*set)(Config&, double);
};

constexpr IntBounds kStepBounds{1, 100'000, ""};
constexpr IntBounds kFileSizeBounds{1, std::int64_t{1} << 30, ""};  // bytes, at most 1 GiB
constexpr RealBounds kWeightBounds{0, 1, ""};
constexpr RealBounds kSaturationBounds{1e-9, 1e9, ""};

// NOLINTBEGIN(bugprone-narrowing-conversions,cppcoreguidelines-narrowing-conversions)
constexpr IntSetting kIntSettings[] = {
    {"engine.max_decisions", kDecisionsBounds,
     [](Config& c, std::int64_t v) { c.gate.max_decisions = static_cast<int>(v); }},
    {"engine.max_concurrent_decisions",
     {1, 1000, ""},
     [](Config& c, std::int64_t v) { c.gate.max_concurrent_decisions = static_cast<int>(v); }},
    {"engine.lease_ttl", kLeaseTtlBounds,
     [](Config& c, std::int64_t v) { c.ha.lease_ttl = Seconds(v); }},
    {"policy.min_agents", kAgentCountBounds,
     [](Config& c, std::int64_t v) { c.policy.min_agents = static_cast<int>(v); }},
    {"policy.max_agents", kMaxAgentsBounds,
     [](Config& c, std::int64_t v) { c.policy.max_agents = static_cast<int>(v); }},
    {"policy.critical_scale_step", kStepBounds,
     [](Config& c, std::int64_t v) { c.policy.critical_scale_step = static_cast<int>(v); }},
    {"policy.degraded_scale_step", kStepBounds,
     [](Config& c, std::int64_t v) { c.policy.degraded_scale_step = static_cast<int>(v); }},
    {"policy.repair_batch", kStepBounds,
     [](Config& c, std::int64_t v) { c.policy.repair_batch = static_cast<int>(v); }},
    {"policy.agent_timeout", kPositiveSecondsBounds,
     [](Config& c, std::int64_t v) { c.policy.agent_timeout = Seconds(v); }},
    {"policy.scale_down_delay", kSecondsBounds,
     [](Config& c, std::int64_t v) { c.policy.scale_down_delay = Seconds(v); }},
    {"policy.cooldown", kSecondsBounds,
     [](Config& c, std::int64_t v) { c.policy.cooldown = Seconds(v); }},
    {"policy.max_work_age", kSecondsBounds,
     [](Config& c, std::int64_t v) { c.policy.max_work_age = Seconds(v); }},
    {"policy.retention", kSecondsBounds,
     [](Config& c, std::int64_t v) { c.policy.retention = Seconds(v); }},
    {"policy.default_max_attempts", kAttemptsBounds,
     [](Config& c, std::int64_t v) { c.policy.default_max_attempts = v; }},
    {"policy.archive_min_files",
     {1, 1'000'000'000, ""},
     [](Config& c, std::int64_t v) { c.policy.archive_min_files = static_cast<int>(v); }},
    {"policy.target_drain", kSecondsBounds,
     [](Config& c, std::int64_t v) { c.policy.target_drain = Seconds(v); }},
    {"policy.default_service_time_ms", kMillisBounds,
     [](Config& c, std::int64_t v) { c.policy.default_service_time = Millis(v); }},
    {"policy.arrival_window", kSecondsBounds,
     [](Config& c, std::int64_t v) { c.policy.arrival_window = Seconds(v); }},
    {"policy.default_startup_lag", kSecondsBounds,
     [](Config& c, std::int64_t v) { c.policy.default_startup_lag = Seconds(v); }},
    {"policy.scale_up_period", kSecondsBounds,
     [](Config& c, std::int64_t v) { c.policy.scale_up_period = Seconds(v); }},
    {"policy.scale_down_window", kSecondsBounds,
     [](Config& c, std::int64_t v) { c.policy.scale_down_window = Seconds(v); }},
    {"store.max_file_size", kFileSizeBounds,
     [](Config& c, std::int64_t v) { c.store.max_file_size = static_cast<std::size_t>(v); }},
    {"store.stale_temp_age", kPositiveSecondsBounds,
     [](Config& c, std::int64_t v) { c.store.stale_temp_age = Seconds(v); }},
    {"actuator.timeout", kSecondsBounds,
     [](Config& c, std::int64_t v) { c.actuator.timeout = Seconds(v); }},
    {"actuator.agent_grace", kSecondsBounds,
     [](Config& c, std::int64_t v) { c.actuator.agent_grace = Seconds(v); }},
};
// NOLINTEND(bugprone-narrowing-conversions,cppcoreguidelines-narrowing-conversions)

constexpr RealSetting kRealSettings[] = {
    {"engine.min_confidence", kConfidenceBounds,
     [](Config& c, double v) { c.gate.min_confidence = v; }},
    {"policy.scale_factor",
     {0.01, 100, ""},
     [](Config& c, double v) { c.policy.scale_factor = v; }},
    {"policy.target_utilization",
     {0.05, 1.0, ""},
     [](Config& c, double v) { c.policy.target_utilization = v; }},
    {"health.completion_weight", kWeightBounds,
     [](Config& c, double v) { c.health.completion = v; }},
    {"health.agents_weight", kWeightBounds, [](Config& c, double v) { c.health.agents = v; }},
    {"health.queue_weight", kWeightBounds, [](Config& c, double v) { c.health.queue = v; }},
    {"health.telemetry_weight", kWeightBounds, [](Config& c, double v) { c.health.telemetry = v; }},
    {"health.agent_saturation", kSaturationBounds,
     [](Config& c, double v) { c.health.agent_saturation = v; }},
    {"health.queue_saturation", kSaturationBounds,
     [](Config& c, double v) { c.health.queue_saturation = v; }},
    {"health.telemetry_saturation", kSaturationBounds,
     [](Config& c, double v) { c.health.telemetry_saturation = v; }},
};

template <typename Setting, std::size_t N>
const Setting* find_setting(const Setting (&table)[N], std::string_view key) {
  for (const Setting& s : table) {
    if (s.key == key) return &s;
  }
  return nullptr;
}

// A value's text for messages: the number as written, or its TOML type.
std::string shown(const toml::node& n) {
  if (auto i = n.value_exact<std::int64_t>()) return std::to_string(*i);
  if (auto d = n.value_exact<double>()) return fmt::format("{}", *d);
  if (n.is_string()) return fmt::format("the string \"{}\"", *n.value_exact<std::string>());
  if (n.is_boolean()) return "a boolean";
  if (n.is_array()) return "an array";
  if (n.is_table()) return "a table";
  return "a date or time";
}

// Reads typed settings from the file; every failure names file:line and the key.
struct Reader {
  const std::string& path;

  Status out_of_range(const toml::node& n, std::string_view key, const std::string& expected) {
    return bad(path, n, key, fmt::format("{}, got {}", expected, shown(n)));
  }
  Status integer(const toml::node& n, const IntSetting& s, Config& c) {
    auto v = n.value_exact<std::int64_t>();
    if (!v || !contains(s.bounds, *v)) return out_of_range(n, s.key, describe(s.bounds));
    s.set(c, *v);
    return Status::Ok();
  }
  Status real(const toml::node& n, const RealSetting& s, Config& c) {
    auto v = n.value<double>();  // an integer is a number too
    if (!n.is_number() || !v || !contains(s.bounds, *v)) {
      return out_of_range(n, s.key, describe(s.bounds));
    }
    s.set(c, *v);
    return Status::Ok();
  }
  Status boolean(const toml::node& n, std::string_view key, bool& out) {
    auto v = n.value_exact<bool>();
    if (!v) return bad(path, n, key, "true or false");
    out = *v;
    return Status::Ok();
  }
  Status string(const toml::node& n, std::string_view key, std::string& out) {
    auto v = n.value_exact<std::string>();
    if (!v) return bad(path, n, key, "a string");
    out = *v;
    return Status::Ok();
  }
  Status argv(const toml::node& n, std::string_view key, std::vector<std::string>& out) {
    const toml::array* arr = n.as_array();
    if (arr == nullptr) return bad(path, n, key, "an array of strings (an argv)");
    std::vector<std::string> v;
    for (const toml::node& e : *arr) {
      auto s = e.value_exact<std::string>();
      if (!s) return bad(path, e, key, "an array of strings (an argv)");
      v.push_back(*s);
    }
    out = std::move(v);
    return Status::Ok();
  }
};

Status apply_key(Reader& r, std::string_view key, const toml::node& n, Config& c) {
  if (const IntSetting* s = find_setting(kIntSettings, key)) return r.integer(n, *s, c);
  if (const RealSetting* s = find_setting(kRealSettings, key)) return r.real(n, *s, c);
  PolicyConfig& p = c.policy;
  if (key == "coordination_dir") return r.string(n, key, c.coordination_dir);
  if (key == "log_level") return r.string(n, key, c.log_level);
  if (key == "engine.dry_run") return r.boolean(n, key, c.gate.dry_run);
  if (key == "engine.leader_election") return r.boolean(n, key, c.leader_election);
  if (key == "engine.id") return r.string(n, key, c.ha.id);
  if (key == "store.url") return r.string(n, key, c.store.url);
  if (key == "policy.sizing") {
    std::string sizing;
    if (Status s = r.string(n, key, sizing); !s.ok()) return s;
    if (sizing != "capacity" && sizing != "steps") return bad(r.path, n, key, "capacity or steps");
    p.sizing = sizing == "steps" ? Sizing::kSteps : Sizing::kCapacity;
    return Status::Ok();
  }
  if (key == "policy.arrival_trend") return r.boolean(n, key, p.arrival_trend);
  if (key == "actuator.scale_command") return r.argv(n, key, c.actuator.scale_command);
  if (key == "actuator.kind") {
    std::string kind;
    if (Status s = r.string(n, key, kind); !s.ok()) return s;
    const std::optional<ActuatorKind> parsed = actuator_kind_from_string(kind);
    if (!parsed) return bad(r.path, n, key, "one of auto, none, command, process, pool");
    c.actuator.kind = *parsed;
    return Status::Ok();
  }
  if (key == "actuator.agent_command") return r.argv(n, key, c.actuator.agent_command);
  if (key == "actuator.replace_dead_agents") {
    return r.boolean(n, key, c.actuator.replace_dead_agents);
  }
  if (key.starts_with("labels.")) {
    const std::string name(key.substr(7));
    if (std::string why = telemetry::constant_label_error(name); !why.empty()) {
      return {ErrorCode::kInvalidArgument,
              fmt::format("{}: invalid label name '{}': {}", where(r.path, n), name, why)};
    }
    std::string value;
    if (Status s = r.string(n, key, value); !s.ok()) return s;
    c.labels[name] = value;
    return Status::Ok();
  }
  return {ErrorCode::kInvalidArgument, fmt::format("{}: unknown key '{}'", where(r.path, n), key)};
}

Status apply_table(Reader& r, const toml::table& t, const std::string& prefix, Config& c) {
  for (const auto& [k, node] : t) {
    std::string key = prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
    const toml::table* sub = node.as_table();
    if (sub != nullptr && prefix.empty() && key != "coordination_dir") {
      if (Status s = apply_table(r, *sub, key, c); !s.ok()) return s;
      continue;
    }
    if (Status s = apply_key(r, key, node, c); !s.ok()) return s;
  }
  return Status::Ok();
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

Status apply_config_file(const std::string& path, Config& config) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return {ErrorCode::kNotFound, fmt::format("config file not found: {}", path)};
  }
  toml::table table;
  try {
    table = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    return {ErrorCode::kInvalidArgument,
            fmt::format("{}:{}: {}", path, e.source().begin.line, e.description())};
  }
  Reader r{path};
  return apply_table(r, table, "", config);
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
  if (const IntSetting* s = find_setting(kIntSettings, key)) {
    std::optional<std::int64_t> v = parse_int(value);
    if (!v || !contains(s->bounds, *v)) return env_error(name, value, describe(s->bounds));
    s->set(config, *v);
    return Status::Ok();
  }
  const RealSetting* s = find_setting(kRealSettings, key);
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

}  // namespace dslmodel::app

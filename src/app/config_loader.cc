#include "app/config_loader.h"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <string_view>

#include "app/backends.h"

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

// One typed setting: reads node into the target or returns a message naming file:line and key.
struct Reader {
  const std::string& path;

  Status number(const toml::node& n, std::string_view key, double& out, double lo, double hi) {
    auto v = n.value<double>();
    if (!v || *v < lo || *v > hi) {
      return bad(path, n, key, fmt::format("a number from {} to {}", lo, hi));
    }
    out = *v;
    return Status::Ok();
  }
  template <typename Int>
  Status integer(const toml::node& n, std::string_view key, Int& out, std::int64_t lo) {
    auto v = n.value_exact<std::int64_t>();
    if (!v || *v < lo) return bad(path, n, key, fmt::format("an integer >= {}", lo));
    out = static_cast<Int>(*v);
    return Status::Ok();
  }
  Status seconds(const toml::node& n, std::string_view key, Seconds& out) {
    std::int64_t v = 0;
    if (Status s = integer(n, key, v, 0); !s.ok()) {
      return bad(path, n, key, "a whole number of seconds >= 0");
    }
    out = Seconds{v};
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
  PolicyConfig& p = c.policy;
  HealthWeights& h = c.health;
  if (key == "coordination_dir") return r.string(n, key, c.coordination_dir);
  if (key == "log_level") return r.string(n, key, c.log_level);
  if (key == "engine.min_confidence") return r.number(n, key, c.gate.min_confidence, 0, 1);
  if (key == "engine.max_decisions") return r.integer(n, key, c.gate.max_decisions, 0);
  if (key == "engine.max_concurrent_decisions") {
    return r.integer(n, key, c.gate.max_concurrent_decisions, 1);
  }
  if (key == "engine.dry_run") return r.boolean(n, key, c.gate.dry_run);
  if (key == "engine.leader_election") return r.boolean(n, key, c.leader_election);
  if (key == "engine.lease_ttl") return r.seconds(n, key, c.ha.lease_ttl);
  if (key == "engine.id") return r.string(n, key, c.ha.id);
  if (key == "store.url") return r.string(n, key, c.store.url);
  if (key == "policy.min_agents") return r.integer(n, key, p.min_agents, 0);
  if (key == "policy.max_agents") return r.integer(n, key, p.max_agents, 1);
  if (key == "policy.scale_factor") return r.number(n, key, p.scale_factor, 0.01, 100);
  if (key == "policy.critical_scale_step") return r.integer(n, key, p.critical_scale_step, 1);
  if (key == "policy.degraded_scale_step") return r.integer(n, key, p.degraded_scale_step, 1);
  if (key == "policy.repair_batch") return r.integer(n, key, p.repair_batch, 1);
  if (key == "policy.agent_timeout") return r.seconds(n, key, p.agent_timeout);
  if (key == "policy.scale_down_delay") return r.seconds(n, key, p.scale_down_delay);
  if (key == "policy.cooldown") return r.seconds(n, key, p.cooldown);
  if (key == "policy.max_work_age") return r.seconds(n, key, p.max_work_age);
  if (key == "policy.retention") return r.seconds(n, key, p.retention);
  if (key == "policy.default_max_attempts") return r.integer(n, key, p.default_max_attempts, 1);
  if (key == "policy.archive_min_files") return r.integer(n, key, p.archive_min_files, 1);
  if (key == "policy.sizing") {
    std::string sizing;
    if (Status s = r.string(n, key, sizing); !s.ok()) return s;
    if (sizing != "capacity" && sizing != "steps") return bad(r.path, n, key, "capacity or steps");
    p.sizing = sizing == "steps" ? Sizing::kSteps : Sizing::kCapacity;
    return Status::Ok();
  }
  if (key == "policy.target_drain") return r.seconds(n, key, p.target_drain);
  if (key == "policy.target_utilization") {
    return r.number(n, key, p.target_utilization, 0.05, 1.0);
  }
  if (key == "policy.default_service_time_ms") {
    std::int64_t ms = p.default_service_time.count();
    if (Status s = r.integer(n, key, ms, 1); !s.ok()) return s;
    p.default_service_time = Millis(ms);
    return Status::Ok();
  }
  if (key == "policy.arrival_window") return r.seconds(n, key, p.arrival_window);
  if (key == "policy.arrival_trend") return r.boolean(n, key, p.arrival_trend);
  if (key == "policy.default_startup_lag") return r.seconds(n, key, p.default_startup_lag);
  if (key == "policy.scale_up_period") return r.seconds(n, key, p.scale_up_period);
  if (key == "policy.scale_down_window") return r.seconds(n, key, p.scale_down_window);
  if (key == "health.completion_weight") return r.number(n, key, h.completion, 0, 1);
  if (key == "health.agents_weight") return r.number(n, key, h.agents, 0, 1);
  if (key == "health.queue_weight") return r.number(n, key, h.queue, 0, 1);
  if (key == "health.telemetry_weight") return r.number(n, key, h.telemetry, 0, 1);
  if (key == "health.agent_saturation") return r.number(n, key, h.agent_saturation, 1e-9, 1e9);
  if (key == "health.queue_saturation") return r.number(n, key, h.queue_saturation, 1e-9, 1e9);
  if (key == "health.telemetry_saturation") {
    return r.number(n, key, h.telemetry_saturation, 1e-9, 1e9);
  }
  if (key == "store.max_file_size") return r.integer(n, key, c.store.max_file_size, 1);
  if (key == "actuator.scale_command") return r.argv(n, key, c.actuator.scale_command);
  if (key == "actuator.timeout") return r.seconds(n, key, c.actuator.timeout);
  if (key == "actuator.kind") {
    std::string kind;
    if (Status s = r.string(n, key, kind); !s.ok()) return s;
    if (kind != "auto" && kind != "none" && kind != "command" && kind != "process" &&
        kind != "pool") {
      return bad(r.path, n, key, "one of auto, none, command, process, pool");
    }
    c.actuator.kind = kind;
    return Status::Ok();
  }
  if (key == "actuator.agent_command") return r.argv(n, key, c.actuator.agent_command);
  if (key == "actuator.agent_grace") return r.seconds(n, key, c.actuator.agent_grace);
  if (key == "actuator.replace_dead_agents") {
    return r.boolean(n, key, c.actuator.replace_dead_agents);
  }
  if (key.starts_with("labels.")) {
    std::string value;
    if (Status s = r.string(n, key, value); !s.ok()) return s;
    c.labels[std::string(key.substr(7))] = value;
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
  if (t == "false" || t == "0" || t == "no" || t == "off" || t.empty()) return false;
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

std::optional<double> to_double(std::string_view s) {
  double v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

std::optional<long long> to_int(std::string_view s) {
  long long v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

}  // namespace

Status apply_environment(const EnvLookup& env, Config& config) {
  if (auto v = env("DSLMODEL_COORDINATION_DIR"); v && !v->empty()) config.coordination_dir = *v;
  if (auto v = env("DSLMODEL_STORE"); v && !v->empty()) config.store.url = *v;
  if (auto v = env("DSLMODEL_AUTO_MIN_CONFIDENCE")) {
    auto d = to_double(*v);
    if (!d || *d < 0 || *d > 1) {
      return env_error("DSLMODEL_AUTO_MIN_CONFIDENCE", *v, "a number from 0 to 1");
    }
    config.gate.min_confidence = *d;
  }
  if (auto v = env("DSLMODEL_AUTO_MAX_AGENTS")) {
    auto i = to_int(*v);
    if (!i || *i < 1 || *i > 100000) {
      return env_error("DSLMODEL_AUTO_MAX_AGENTS", *v, "an integer >= 1");
    }
    config.policy.max_agents = static_cast<int>(*i);
  }
  if (auto v = env("DSLMODEL_AUTO_SCALE_FACTOR")) {
    auto d = to_double(*v);
    if (!d || *d <= 0 || *d > 100) {
      return env_error("DSLMODEL_AUTO_SCALE_FACTOR", *v, "a number above 0 and at most 100");
    }
    config.policy.scale_factor = *d;
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
    if (auto v = env(name); v && !v->empty()) {
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
  if (c.actuator.kind == "command" && c.actuator.scale_command.empty()) {
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

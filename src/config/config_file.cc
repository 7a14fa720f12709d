// The TOML config file (docs/configuration.md): every key, its type and, through the setting
// table, its range; every failure names "<file>:<line>".
#include <fmt/format.h>
#include <toml++/toml.h>

#include <cstdint>
#include <filesystem>
#include <string_view>
#include <vector>

#include "config/setting_table.h"
#include "dslmodel/config_loader.h"
#include "telemetry/prometheus.h"

namespace dslmodel {
namespace {

using config::find_int_setting;
using config::find_real_setting;
using config::IntSetting;
using config::RealSetting;

// Where a TOML node sits, for messages: "file:line".
std::string where(const std::string& path, const toml::node& node) {
  return fmt::format("{}:{}", path, node.source().begin.line);
}

Status bad(const std::string& path, const toml::node& node, std::string_view key,
           std::string_view expected) {
  return {ErrorCode::kInvalidArgument,
          fmt::format("{}: invalid value for '{}': expected {}", where(path, node), key, expected)};
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
  if (const IntSetting* s = find_int_setting(key)) return r.integer(n, *s, c);
  if (const RealSetting* s = find_real_setting(key)) return r.real(n, *s, c);
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

}  // namespace dslmodel

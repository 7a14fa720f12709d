// Decision <-> JSON, and the built-in types' payload between typed fields and parameters
// (docs/policy.md).
#include "dslmodel/decision.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "dslmodel/time.h"

namespace dslmodel {
namespace {

void read_string(const nlohmann::json& j, const char* key, std::string& out) {
  auto it = j.find(key);
  if (it != j.end() && it->is_string()) out = it->get<std::string>();
}

// Integers as they are; finite floats truncated toward zero; anything else ignored.
void read_int(const nlohmann::json& j, const char* key, int& out) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return;
  const double v = it->get<double>();
  if (!std::isfinite(v) || v < std::numeric_limits<int>::min() ||
      v > std::numeric_limits<int>::max()) {
    return;
  }
  out = it->is_number_float() ? static_cast<int>(v) : it->get<int>();
}

bool is_builtin_scale(const Decision& d) {
  return d.type == decision_type::kScaleUp || d.type == decision_type::kScaleDown;
}

bool is_builtin_repair(const Decision& d) {
  return d.type == decision_type::kCoordinationImprove || d.type == decision_type::kOptimize;
}

// The nearest integer to a finite number, within ±1e9; nullopt for anything else.
std::optional<std::int64_t> agent_count(const nlohmann::json& j) {
  if (!j.is_number()) return std::nullopt;
  const double raw = j.get<double>();
  if (!std::isfinite(raw)) return std::nullopt;
  return std::llround(std::clamp(raw, -1e9, 1e9));
}

void lift_scale(Decision& d) {
  auto target_it = d.parameters.find("target_agents");
  if (target_it == d.parameters.end()) return;
  const std::optional<std::int64_t> target = agent_count(*target_it);
  if (!target) return;
  ScaleTarget s{*target, std::nullopt};
  if (auto it = d.parameters.find("current_agents"); it != d.parameters.end()) {
    s.current_agents = agent_count(*it);
  }
  d.scale = s;
  for (const char* key : {"target_agents", "current_agents", "delta"}) d.parameters.erase(key);
}

void lift_actions(Decision& d) {
  auto it = d.parameters.find("actions");
  if (it == d.parameters.end() || !it->is_array()) return;
  for (const auto& a : *it) {
    Result<RepairAction> action = repair_action_from_json(a);
    if (action.ok()) d.actions.push_back(std::move(action).value());
  }
  d.parameters.erase(it);
}

}  // namespace

void lift_payload(Decision& d) {
  if (!d.parameters.is_object()) return;
  if (is_builtin_scale(d) && !d.scale) lift_scale(d);
  if (is_builtin_repair(d) && d.actions.empty()) lift_actions(d);
}

nlohmann::json parameters_json(const Decision& d) {
  if (!d.scale && d.actions.empty()) return d.parameters;
  nlohmann::json p = d.parameters.is_object() ? d.parameters : nlohmann::json::object();
  if (d.scale) {
    p["target_agents"] = d.scale->target_agents;
    if (d.scale->current_agents) {
      p["current_agents"] = *d.scale->current_agents;
      p["delta"] = d.scale->target_agents - *d.scale->current_agents;
    }
  }
  if (!d.actions.empty()) {
    nlohmann::json actions = nlohmann::json::array();
    for (const RepairAction& a : d.actions) actions.push_back(to_json(a));
    p["actions"] = std::move(actions);
  }
  return p;
}

nlohmann::json to_json(const Decision& d) {
  return nlohmann::json{{"id", d.id},
                        {"type", d.type},
                        {"priority", d.priority},
                        {"confidence", d.confidence},
                        {"rationale", d.rationale},
                        {"reason", d.reason},
                        {"parameters", parameters_json(d)},
                        {"created_at", format_iso8601(d.created_at)}};
}

std::optional<Decision> decision_from_json(const nlohmann::json& j) {
  if (!j.is_object()) return std::nullopt;
  Decision d;
  read_string(j, "id", d.id);
  read_string(j, "type", d.type);
  read_int(j, "priority", d.priority);
  if (auto it = j.find("confidence"); it != j.end() && it->is_number()) {
    d.confidence = it->get<double>();
  }
  read_string(j, "rationale", d.rationale);
  read_string(j, "reason", d.reason);
  if (auto it = j.find("parameters"); it != j.end() && it->is_object()) d.parameters = *it;
  if (auto it = j.find("created_at"); it != j.end() && it->is_string()) {
    if (auto t = parse_iso8601(it->get<std::string>())) d.created_at = *t;
  }
  lift_payload(d);
  return d;
}

}  // namespace dslmodel

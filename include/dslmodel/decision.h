// Decision: one thing the engine proposes to do, with why and how sure it is (docs/policy.md).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dslmodel/repair.h"
#include "dslmodel/snapshot.h"

namespace dslmodel {

// The built-in types. Custom handlers may use any other type name (see Decision::type).
namespace decision_type {
inline constexpr std::string_view kScaleUp = "scale_up";
inline constexpr std::string_view kScaleDown = "scale_down";
inline constexpr std::string_view kCoordinationImprove = "coordination_improve";
inline constexpr std::string_view kOptimize = "optimize";
}  // namespace decision_type

// What a scale decision asks for.
struct ScaleTarget {
  std::int64_t target_agents = 0;
  std::optional<std::int64_t> current_agents;  // unset: nothing to compare the target with
};

struct Decision {
  std::string id;
  std::string type;  // "scale_up", "scale_down", "coordination_improve", "optimize", or custom
  int priority = 0;  // higher runs first
  double confidence = 0.0;  // 0..1
  std::string rationale;    // human text naming the numbers that triggered it
  std::string reason;       // stable code, e.g. "critical_backlog"
  // The payload of the built-in types: scale_up / scale_down need `scale`; coordination_improve
  // and optimize carry the `actions` they apply. Custom code may instead write them as
  // parameters (target_agents, current_agents; actions): lift_payload() moves them here.
  std::optional<ScaleTarget> scale;
  std::vector<RepairAction> actions;
  nlohmann::json parameters = nlohmann::json::object();  // the other inputs: items, health_score…
  TimePoint created_at{};
};

// For a built-in type, moves the payload written as parameters into the typed fields: a finite
// number target_agents (rounded) with current_agents (a number, when present) into `scale`,
// erasing target_agents, current_agents and delta; an array "actions" into `actions` (entries
// that are not actions are dropped), erasing it. Typed fields already set win; other types are
// left alone.
void lift_payload(Decision& d);

// parameters with the payload written back: target_agents, current_agents and delta (when the
// current count is known) for a scale; "actions" when there are any.
nlohmann::json parameters_json(const Decision& d);

// {"id","type","priority","confidence","rationale","reason","parameters","created_at"}, the
// payload inside "parameters" (parameters_json): the journal and output shape.
nlohmann::json to_json(const Decision& d);
// The inverse of to_json, with lift_payload applied. Missing fields keep their defaults; nullopt
// if j is not an object.
std::optional<Decision> decision_from_json(const nlohmann::json& j);

}  // namespace dslmodel

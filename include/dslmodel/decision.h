// Decision: one thing the engine proposes to do, with why and how sure it is (docs/policy.md).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "dslmodel/snapshot.h"

namespace dslmodel {

// The built-in types. Custom handlers may use any other type name (see Decision::type).
namespace decision_type {
inline constexpr std::string_view kScaleUp = "scale_up";
inline constexpr std::string_view kScaleDown = "scale_down";
inline constexpr std::string_view kCoordinationImprove = "coordination_improve";
inline constexpr std::string_view kOptimize = "optimize";
}  // namespace decision_type

struct Decision {
  std::string id;
  std::string type;  // "scale_up", "scale_down", "coordination_improve", "optimize", or custom
  int priority = 0;  // higher runs first
  double confidence = 0.0;  // 0..1
  std::string rationale;    // human text naming the numbers that triggered it
  std::string reason;       // stable code, e.g. "critical_backlog"
  nlohmann::json parameters = nlohmann::json::object();  // current_agents, target_agents, items…
  TimePoint created_at{};
};

// {"id","type","priority","confidence","rationale","reason","parameters","created_at"}
nlohmann::json to_json(const Decision& d);
// The inverse of to_json. Missing fields keep their defaults; nullopt if j is not an object.
std::optional<Decision> decision_from_json(const nlohmann::json& j);

}  // namespace dslmodel

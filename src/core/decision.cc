// Decision <-> JSON (docs/policy.md).
#include "dslmodel/decision.h"

#include <cmath>
#include <limits>

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

}  // namespace

nlohmann::json to_json(const Decision& d) {
  return nlohmann::json{{"id", d.id},
                        {"type", d.type},
                        {"priority", d.priority},
                        {"confidence", d.confidence},
                        {"rationale", d.rationale},
                        {"reason", d.reason},
                        {"parameters", d.parameters},
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
  return d;
}

}  // namespace dslmodel

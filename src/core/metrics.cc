// Health score and health states (docs/metrics.md).
#include "dslmodel/metrics.h"

#include <algorithm>

namespace dslmodel {
namespace {

// value/saturation capped at 1; a non-positive saturation makes the term full once value > 0.
double saturating_ratio(double value, double saturation) {
  if (saturation <= 0.0) return value > 0.0 ? 1.0 : 0.0;
  return std::min(value / saturation, 1.0);
}

}  // namespace

std::string_view to_string(HealthState s) {
  switch (s) {
    case HealthState::kCritical:
      return "critical";
    case HealthState::kDegraded:
      return "degraded";
    case HealthState::kHealthy:
      return "healthy";
    case HealthState::kOptimal:
      return "optimal";
  }
  return "critical";
}

double compute_health_score(const SystemMetrics& m, const HealthWeights& w) {
  const auto agents = static_cast<double>(m.active_agents);
  const auto queue = static_cast<double>(m.work_queue_size);
  const auto telemetry = static_cast<double>(m.telemetry_volume);
  // Summed left to right in the seed's order: the acceptance tests compare bit-for-bit.
  double h = m.completion_rate * w.completion;
  h += saturating_ratio(agents, w.agent_saturation) * w.agents;
  h += std::max(0.0, 1.0 - (w.queue_saturation > 0.0 ? queue / w.queue_saturation
                                                     : (queue > 0.0 ? 1.0 : 0.0))) *
       w.queue;
  h += saturating_ratio(telemetry, w.telemetry_saturation) * w.telemetry;
  return std::min(h, 1.0);
}

HealthState classify_health(double score) {
  if (score >= 0.9) return HealthState::kOptimal;
  if (score >= 0.6) return HealthState::kHealthy;
  if (score >= 0.3) return HealthState::kDegraded;
  return HealthState::kCritical;  // also NaN
}

}  // namespace dslmodel

// SystemMetrics and health scoring (docs/metrics.md). Pure values and pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace dslmodel {

enum class HealthState { kCritical, kDegraded, kHealthy, kOptimal };

// "critical", "degraded", "healthy", "optimal".
std::string_view to_string(HealthState s);

// Weights and saturation points of the health score. Defaults are the seed's.
struct HealthWeights {
  double completion = 0.4;
  double agents = 0.3;
  double queue = 0.2;
  double telemetry = 0.1;
  double agent_saturation = 5.0;       // agents at which the agent term is full
  double queue_saturation = 10.0;      // queued items at which the queue term is empty
  double telemetry_saturation = 20.0;  // records at which the telemetry term is full
};

struct SystemMetrics {
  double completion_rate = 0.0;
  std::int64_t active_agents = 0;
  std::int64_t work_queue_size = 0;
  std::int64_t telemetry_volume = 0;
  double health_score = 0.0;
  HealthState health_state = HealthState::kCritical;

  std::int64_t pending = 0;       // queued items not yet claimed
  std::int64_t in_progress = 0;   // claimed or in_progress items
  std::int64_t total_agents = 0;  // agent files read, whatever their status
  std::int64_t succeeded = 0;
  std::int64_t failed = 0;
  std::int64_t rejected_files = 0;
  std::int64_t files_read = 0;  // accepted + rejected
};

// The seed's formula, summed in exactly this order, then min(h, 1.0):
// completion*wc + min(agents/sa,1)*wa + max(0,1-queue/sq)*wq + min(telemetry/st,1)*wt.
double compute_health_score(const SystemMetrics& m, const HealthWeights& w = {});

// critical < 0.3 <= degraded < 0.6 <= healthy < 0.9 <= optimal.
HealthState classify_health(double score);

}  // namespace dslmodel

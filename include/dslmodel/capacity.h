// The capacity model: how many agents the work needs (docs/policy.md, "Sizing from capacity").
//
// From one snapshot, the decision history and the time it estimates the per-agent service time,
// the arrival rate and its trend, the backlog and the start-up lag of a new agent, and from them
// (Little's law) the agents needed to drain the backlog within policy.target_drain while keeping
// up with arrivals at policy.target_utilization. Pure; thread-safe.
#pragma once

#include <cstdint>

#include "dslmodel/config.h"
#include "dslmodel/metrics.h"
#include "dslmodel/policy.h"
#include "dslmodel/snapshot.h"

namespace dslmodel {

struct CapacityEstimate {
  double service_time_s = 0.0;   // mean seconds an agent spends on one item
  int service_samples = 0;       // completed records it rests on (0: the configured default)
  double arrival_rate = 0.0;     // items created per second over policy.arrival_window
  double projected_rate = 0.0;   // arrival_rate, raised by a rising trend over the start-up lag
  std::int64_t arrivals = 0;     // items created within the window
  std::int64_t backlog = 0;      // pending + in progress
  double startup_lag_s = 0.0;    // scale-up to first heartbeat
  int lag_samples = 0;           // scale-ups it rests on (0: the configured default)
  double drain_agents = 0.0;     // backlog × service / (target_drain − lag)
  double arrival_agents = 0.0;   // projected_rate × service / target_utilization
  std::int64_t needed = 0;       // ceil(drain_agents + arrival_agents); 0 with no work at all
  std::int64_t recommended = 0;  // needed within [min_agents, max_agents]
  // The largest recommendation over policy.scale_down_window, this one included, and never
  // below the items in progress: a scale-down goes no lower.
  std::int64_t floor = 0;
  // > 0 while the last scale-up is still starting its agents (within twice the start-up lag
  // plus 5 s of it): the count it asked for.
  std::int64_t starting_target = 0;
  double confidence = 0.0;  // 0.7 .. 0.95, rising with service and arrival samples
};

CapacityEstimate estimate_capacity(const Snapshot& snap, const SystemMetrics& metrics,
                                   const Config& cfg, const DecisionHistory& history,
                                   TimePoint now);

// Seconds `agents` agents need to drain `e.backlog` while arrivals continue at
// e.projected_rate, after the start-up lag; +inf when they cannot keep up.
double drain_seconds(const CapacityEstimate& e, std::int64_t agents);

}  // namespace dslmodel

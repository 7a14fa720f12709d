// The spans of one cycle (README.md, the seed's "Generated Spans"): one trace per cycle, rooted
// at swarmsh.autonomous.cycle_complete. Thread-safe (ids come from a thread-local generator).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "dslmodel/engine.h"
#include "dslmodel/telemetry.h"

namespace dslmodel {

// When each phase of a cycle started and ended.
struct CyclePhases {
  TimePoint start{};
  TimePoint analyzed{};  // analysis done
  TimePoint decided{};   // decisions made
  TimePoint end{};
};

// The cycle's spans: cycle_complete (root) with children system_analysis, decision_generation,
// one decision_execution per decision (each executed scale decision with a scaling_decision
// child, each executed coordination_improve with a coordination_improvement child), and the
// thesis spans swarmsh.thesis.span_drives_code and swarmsh.thesis.telemetry_as_system.
// system_improvement is true when health rose since `previous_health`.
std::vector<SpanData> cycle_spans(const CycleResult& cycle, const CyclePhases& phases,
                                  const std::vector<DecisionTiming>& timings,
                                  std::optional<double> previous_health);

}  // namespace dslmodel

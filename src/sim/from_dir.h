// A directory's own recorded work as a simulator trace (`dsl auto simulate --from-dir DIR`):
// what another configuration would have done with the same work, and what this one did.
#pragma once

#include <string>
#include <vector>

#include "dslmodel/config.h"
#include "dslmodel/status.h"
#include "sim/simulate.h"
#include "sim/trace.h"

namespace dslmodel::sim {

struct RecordedRun {
  Trace trace;
  TimePoint origin{};                // t = 0: the earliest item's creation or journal record
  double first_cycle_s = 0.0;        // the first journal record (the loop's first decisions)
  double startup_lag_s = 1.0;        // measured from the journal and the agents' start times
  std::vector<ScaleAction> actions;  // the executed scale decisions of the journal
};

// Items: every work and completed record with a creation time; completed records run for their
// duration_ms (else finished − claimed_at), the others for the mean of those. Fails when the
// directory cannot be read or holds no item with a creation time.
Result<RecordedRun> read_recorded_run(const Config& config);

}  // namespace dslmodel::sim

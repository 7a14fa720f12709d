// DecisionStrategy: a user's own rule, asked each cycle after the built-in policy.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "dslmodel/decision.h"
#include "dslmodel/metrics.h"
#include "dslmodel/status.h"

namespace dslmodel {

class DecisionStrategy {
 public:
  DecisionStrategy() = default;
  DecisionStrategy(const DecisionStrategy&) = delete;
  DecisionStrategy& operator=(const DecisionStrategy&) = delete;
  virtual ~DecisionStrategy() = default;

  // Returns a decision to add, or nullopt. `decisions` holds what was proposed so far this cycle.
  // Must be pure: no I/O, no clock. Missing id/created_at are filled in by the engine.
  virtual std::optional<Decision> evaluate(const SystemMetrics& metrics,
                                           const std::vector<Decision>& decisions) const = 0;
};

// A handler proposes decisions of one type from the metrics (the seed's add_decision_handler).
using DecisionHandler = std::function<std::optional<Decision>(const SystemMetrics&)>;

// An executor carries out decisions of one custom type; returns a one-line result or an error.
// Its inverse, if any, goes in the journal through the returned json (may be empty).
struct ExecutorResult {
  std::string result;
  nlohmann::json inverse = nlohmann::json::object();
};
using DecisionExecutor = std::function<Result<ExecutorResult>(const Decision&)>;

}  // namespace dslmodel

// A custom decision strategy: add two agents under heavy queue load (the seed's "Custom
// Decision Strategies"), registered next to the built-in policy.
//
//   custom_strategy <coordination_dir>
#include <algorithm>
#include <iostream>
#include <memory>

#include "dslmodel/engine.h"

class HeavyQueueStrategy : public dslmodel::DecisionStrategy {
 public:
  std::optional<dslmodel::Decision> evaluate(
      const dslmodel::SystemMetrics& m, const std::vector<dslmodel::Decision>&) const override {
    if (m.health_score < 0.4 && m.work_queue_size > 5) {
      dslmodel::Decision d;
      d.type = "scale_up";
      d.priority = 9;
      d.confidence = 0.9;
      d.reason = "heavy_queue";
      d.rationale = "Heavy queue load detected";
      d.scale =
          dslmodel::ScaleTarget{std::min<std::int64_t>(m.active_agents + 2, 10), m.active_agents};
      return d;
    }
    return std::nullopt;
  }
};

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: custom_strategy <coordination_dir>\n";
    return 2;
  }
  dslmodel::AutonomousDecisionEngine engine(argv[1]);
  engine.add_decision_strategy(std::make_unique<HeavyQueueStrategy>());
  auto metrics = engine.analyze_system_state();
  if (!metrics.ok()) {
    std::cerr << metrics.status().message() << "\n";
    return 1;
  }
  for (const auto& d : engine.make_autonomous_decisions(*metrics)) {
    std::cout << d.type << " reason=" << d.reason << " priority=" << d.priority
              << " confidence=" << d.confidence
              << " target=" << (d.scale ? d.scale->target_agents : -1) << "\n";
  }
  // What normalisation did not keep, e.g. this strategy's scale-up when a built-in scale
  // decision ranks first (one scale decision per cycle).
  for (const auto& x : engine.dropped_decisions()) {
    std::cout << "dropped " << x.decision.type << " reason=" << x.decision.reason << ": " << x.why
              << "\n";
  }
  return 0;
}

// Custom health scoring: a subclass weighs completion more, wants fewer agents and a shorter
// queue (the seed's "Custom Health Scoring").
//
//   custom_health <coordination_dir>
#include <algorithm>
#include <iostream>

#include "dslmodel/engine.h"

class CustomAutonomousEngine : public dslmodel::AutonomousDecisionEngine {
 public:
  using AutonomousDecisionEngine::AutonomousDecisionEngine;

 protected:
  double calculate_health_score(const dslmodel::SystemMetrics& m) const override {
    return m.completion_rate * 0.5 +
           std::min(static_cast<double>(m.active_agents) / 3.0, 1.0) * 0.2 +
           std::max(0.0, 1.0 - static_cast<double>(m.work_queue_size) / 5.0) * 0.2 +
           std::min(static_cast<double>(m.telemetry_volume) / 10.0, 1.0) * 0.1;
  }
};

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: custom_health <coordination_dir>\n";
    return 2;
  }
  dslmodel::AutonomousDecisionEngine standard(argv[1]);
  CustomAutonomousEngine custom(argv[1]);
  auto a = standard.analyze_system_state();
  auto b = custom.analyze_system_state();
  if (!a.ok() || !b.ok()) {
    std::cerr << (a.ok() ? b.status() : a.status()).message() << "\n";
    return 1;
  }
  std::cout << "standard health " << a->health_score << " (" << dslmodel::to_string(a->health_state)
            << ")\n";
  std::cout << "custom health " << b->health_score << " (" << dslmodel::to_string(b->health_state)
            << ")\n";
  return 0;
}

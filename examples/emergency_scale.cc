// A custom decision type with its own handler and executor (the seed's
// add_decision_handler("emergency_scale", ...)). The executor here writes the request to a file
// in the coordination directory, as a real one would call an orchestrator.
//
//   emergency_scale <coordination_dir> [queue_threshold]
#include <fstream>
#include <iostream>
#include <string>

#include "dslmodel/engine.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: emergency_scale <coordination_dir> [queue_threshold]\n";
    return 2;
  }
  const std::string dir = argv[1];
  const std::int64_t threshold = argc > 2 ? std::stoll(argv[2]) : 20;
  dslmodel::AutonomousDecisionEngine engine(dir);
  engine.set_confidence_threshold(0.7);
  engine.set_max_concurrent_decisions(5);
  engine.add_decision_handler(
      "emergency_scale",
      [threshold](const dslmodel::SystemMetrics& m) -> std::optional<dslmodel::Decision> {
        if (m.work_queue_size <= threshold) return std::nullopt;
        dslmodel::Decision d;
        d.priority = 10;
        d.confidence = 0.9;
        d.reason = "queue_overload";
        d.rationale = "Emergency queue overload: " + std::to_string(m.work_queue_size) + " items";
        d.parameters = {{"items", m.work_queue_size}};
        return d;
      });
  engine.add_decision_executor(
      "emergency_scale",
      [dir](const dslmodel::Decision& d) -> dslmodel::Result<dslmodel::ExecutorResult> {
        std::ofstream out(dir + "/emergency_requests.log", std::ios::app);
        out << d.id << " " << d.parameters.dump() << "\n";
        if (!out) return dslmodel::Status(dslmodel::ErrorCode::kIo, "cannot write request log");
        return dslmodel::ExecutorResult{"emergency capacity requested", {}};
      });
  auto metrics = engine.analyze_system_state();
  if (!metrics.ok()) {
    std::cerr << metrics.status().message() << "\n";
    return 1;
  }
  auto decisions = engine.make_autonomous_decisions(*metrics);
  auto report = engine.execute_decisions(decisions, {.max_decisions = 3});
  for (const auto& e : report.executed)
    std::cout << "executed " << e.type << ": " << e.result << "\n";
  for (const auto& s : report.skipped)
    std::cout << "skipped " << s.type << ": " << s.reason << "\n";
  for (const auto& f : report.failed) std::cout << "failed " << f.type << ": " << f.error << "\n";
  return report.failed.empty() ? 0 : 1;
}

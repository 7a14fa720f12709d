// An engine built from configuration, as `dsl` builds its own: defaults < a TOML file < the
// DSLMODEL_* environment (dslmodel/config_loader.h, docs/configuration.md), then the adapters
// the configuration names (dslmodel/factory.h). It analyzes once and prints what it would decide;
// it acts on nothing.
//
//   from_config <config.toml>
//   DSLMODEL_AUTO_MIN_CONFIDENCE=0.9 DSLMODEL_COORDINATION_DIR=/srv/coord from_config dslmodel.toml
#include <iostream>

#include "dslmodel/config_loader.h"
#include "dslmodel/factory.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: from_config <config.toml>\n";
    return 2;
  }
  dslmodel::Result<dslmodel::Config> config = dslmodel::load_config(argv[1]);
  if (!config.ok()) {
    std::cerr << "config: " << config.status().message() << "\n";
    return 2;
  }
  auto engine = dslmodel::make_engine(*config);
  if (!engine.ok()) {
    std::cerr << "engine: " << engine.status().message() << "\n";
    return 2;
  }
  const double threshold = (*engine)->confidence_threshold();
  std::cout << "coordination_dir " << config->coordination_dir << "\n";
  std::cout << "min_confidence " << threshold << "\n";
  std::cout << "max_agents " << config->policy.max_agents << "\n";

  auto metrics = (*engine)->analyze_system_state();
  if (!metrics.ok()) {
    std::cerr << metrics.status().message() << "\n";
    return 1;
  }
  std::cout << "health " << metrics->health_score << " ("
            << dslmodel::to_string(metrics->health_state) << ")\n";
  for (const auto& d : (*engine)->make_autonomous_decisions(*metrics)) {
    std::cout << d.type << " reason=" << d.reason << " confidence=" << d.confidence << " "
              << (d.confidence >= threshold ? "passes" : "below") << " min_confidence\n";
  }
  return 0;
}

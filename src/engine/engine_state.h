// The engine's private state shared by its translation units (engine.cc, engine_execute.cc).
#pragma once

#include <vector>

#include "dslmodel/engine.h"

namespace dslmodel {

// The journal as this cycle read it, with what the engine appended since.
struct AutonomousDecisionEngine::Cached {
  bool loaded = false;
  std::vector<JournalEntry> entries;
  DecisionHistory history;  // of `entries`
};

}  // namespace dslmodel

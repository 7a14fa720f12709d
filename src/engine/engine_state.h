// The engine's private state shared by its translation units (engine.cc, engine_execute.cc).
#pragma once

#include <vector>

#include "dslmodel/engine.h"

namespace dslmodel {

// The journal's summary as last read; read again after the engine appends.
struct AutonomousDecisionEngine::Cached {
  bool loaded = false;
  JournalSummary summary;
};

}  // namespace dslmodel

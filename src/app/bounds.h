// The command line's range checks: CLI11 validators over the ranges every setting shares
// (config/bounds.h, docs/configuration.md), so a flag is refused exactly as the file setting or
// the variable it overrides. Thread-safe.
#pragma once

#include "config/bounds.h"

namespace CLI {
class Validator;
}

namespace dslmodel::app {

// CLI11 checks of a flag's text with check_int / check_real.
CLI::Validator int_flag(const IntBounds& b);
CLI::Validator real_flag(const RealBounds& b);

}  // namespace dslmodel::app

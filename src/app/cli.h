// The dsl command line (README.md): parses flags, loads the configuration, dispatches.
#pragma once

namespace dslmodel::app {

// Runs dsl with these arguments; returns the process exit code (0, 1 or 2).
int run_cli(int argc, char** argv);

}  // namespace dslmodel::app

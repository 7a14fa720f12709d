// `dsl telemetry enable-remediation [--live]` / `disable-remediation`: the operator's side of the
// persisted remediation switch (app/settings.h). Each command returns an exit code (0 done, 1
// could not do it). Not thread-safe.
#pragma once

#include "app/commands.h"

namespace CLI {
class App;
}

namespace dslmodel::app {

struct TelemetryArgs {
  bool live = false;  // enable-remediation --live
};

// Adds the `telemetry` group and its commands under `app`, parsing into `args`.
void add_telemetry_commands(CLI::App& app, TelemetryArgs& args);

// Runs the telemetry command that was parsed: writes the switch into the coordination directory's
// .dsl/settings.json and prints what it set (or the --json envelope, command
// "telemetry-enable-remediation" / "telemetry-disable-remediation", data {"remediation":{…}}).
// Exit 1 when the coordination directory is missing or the file cannot be written.
// REQUIRES: `telemetry` is the parsed `telemetry` group.
int dispatch_telemetry(const CLI::App& telemetry, const Context& ctx, const TelemetryArgs& args);

}  // namespace dslmodel::app

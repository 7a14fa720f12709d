// The engine's persisted operator settings in `<coordination_dir>/.dsl/settings.json`; today the
// remediation switch set by `dsl telemetry enable-remediation [--live]` / `disable-remediation`.
//
// File shape: {"remediation":{"enabled":bool,"live":bool,"changed_at":"<ISO-8601>"}}. Other
// top-level keys are kept when saving. Functions do file I/O but hold no state: thread-safe; two
// writers race last-writer-wins (each write is atomic, so a reader never sees a torn file).
//
// What the loop does with each mode (wired in the loop, re-read once per cycle so a running loop
// obeys a change within one interval):
//   kUnset    → the loop follows its own configuration (engine.dry_run, DSLMODEL_AUTO_DRY_RUN,
//               --dry-run); nothing is overridden.
//   kDisabled → engine.set_remediation_enabled(false): the loop still observes, decides and
//               journals, but executes nothing; each decision is skipped with reason
//               remediation_disabled.
//   kDryRun   → dry run forced on: decisions are gated and journaled, nothing acts (reason
//   dry_run),
//               whatever the configuration says.
//   kLive     → remediation enabled and not forced into dry run. --live overrides only the switch:
//               an explicit dry run from the config file (engine.dry_run = true), the environment
//               (DSLMODEL_AUTO_DRY_RUN=true) or the --dry-run flag still wins.
// When load_remediation fails (corrupt file), the loop should behave as kDisabled and warn with
// the error's message: the switch is a safety control and fails closed.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>

#include "dslmodel/config.h"
#include "dslmodel/snapshot.h"
#include "dslmodel/status.h"

namespace dslmodel::app {

struct RemediationSetting {
  enum class Mode {
    kUnset,     // never set: the loop follows its configuration
    kDisabled,  // execute nothing
    kDryRun,    // decide and journal, never act
    kLive,      // act (unless configuration forces dry run)
  };
  Mode mode = Mode::kUnset;
  std::optional<TimePoint> changed_at;  // when an operator last set it; nullopt when unset

  bool operator==(const RemediationSetting&) const = default;
};

// How a setting combines with the configured dry run (the gate's `dry_run` after config file,
// environment and flags). Pure.
struct RemediationEffect {
  bool remediation_enabled = true;  // → Engine::set_remediation_enabled
  bool dry_run = false;             // → the gate's dry_run for this cycle
};
RemediationEffect remediation_effect(const RemediationSetting& setting, bool configured_dry_run);

// "unset", "disabled", "dry_run", "live".
std::string_view mode_name(RemediationSetting::Mode mode);

// Where `config` keeps the settings: `<coordination_dir>/.dsl/settings.json`, or with an etcd
// store the key PREFIX/state/settings (same JSON), so every host and replica sees one switch.
std::string settings_location(const Config& config);
Result<RemediationSetting> load_remediation(const Config& config);
Status save_remediation(const Config& config, const RemediationSetting& setting);

// `<coordination_dir>/.dsl/settings.json`.
std::filesystem::path settings_path(const std::filesystem::path& coordination_dir);

// Reads the switch. A missing file (or .dsl directory), or a file without a "remediation" key,
// is kUnset. Fails with kCorrupt naming the file when it is not a JSON object, "remediation" is
// not an object, "enabled"/"live" are not booleans or "changed_at" is not an ISO-8601 string;
// kInvalidArgument naming the file when it is a symlink, not a regular file or over 64 KiB;
// kIo for other OS errors. Does not block beyond one small read.
Result<RemediationSetting> load_remediation(const std::filesystem::path& coordination_dir);

// Writes the switch atomically, creating `.dsl/` when needed. kUnset removes the "remediation"
// key. Keeps the file's other top-level keys when it parses; a corrupt file is replaced (so
// disable-remediation always works). Fails with kIo naming the path.
Status save_remediation(const std::filesystem::path& coordination_dir,
                        const RemediationSetting& setting);

// {"enabled":bool|null,"live":bool|null,"mode":"unset|disabled|dry_run|live","changed_at":iso|null}.
// kUnset reports enabled and live as null (the loop follows its configuration; whether that is a
// dry run is the status's own dry_run field); disabled: false/false; dry_run: true/false;
// live: true/true.
nlohmann::json remediation_json(const RemediationSetting& setting);

}  // namespace dslmodel::app

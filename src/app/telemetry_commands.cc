#include "app/telemetry_commands.h"

#include <CLI/CLI.hpp>
#include <chrono>
#include <filesystem>
#include <ostream>
#include <string>

#include "app/settings.h"
#include "core/json_text.h"
#include "factory/backends.h"

namespace dslmodel::app {
namespace {

using Mode = RemediationSetting::Mode;

constexpr const char* kGroupHelp =
    "Telemetry and the remediation switch.\n"
    "The switch is persisted in <coordination dir>/.dsl/settings.json and read by `auto loop`\n"
    "every cycle:\n"
    "  unset (never set)      the loop follows its own configuration (engine.dry_run,\n"
    "                         DSLMODEL_AUTO_DRY_RUN, --dry-run)\n"
    "  disable-remediation    the loop decides and journals but executes nothing\n"
    "                         (skipped: remediation_disabled)\n"
    "  enable-remediation     dry run: the loop decides and journals but does not act\n"
    "  enable-remediation --live\n"
    "                         the loop acts; a dry run set by configuration, environment or\n"
    "                         flag still wins";

CLI::App* add_command(CLI::App& parent, const std::string& name, const std::string& help) {
  CLI::App* c = parent.add_subcommand(name, help);
  c->fallthrough();
  return c;
}

std::string describe(Mode mode) {
  switch (mode) {
    case Mode::kLive:
      return "remediation enabled, live: the loop acts on its decisions";
    case Mode::kDryRun:
      return "remediation enabled, dry run: the loop decides and journals but does not act "
             "(use --live to act)";
    case Mode::kDisabled:
      return "remediation disabled: the loop executes nothing";
    case Mode::kUnset:
      break;
  }
  return "remediation unset: the loop follows its configuration";
}

int set_remediation(const Context& ctx, const std::string& command, Mode mode) {
  const std::string& dir = ctx.config.coordination_dir;
  std::error_code ec;
  if (!uses_etcd(ctx.config) && !std::filesystem::is_directory(dir, ec)) {
    return fail(ctx, command, kExitFailure, "coordination directory not found: " + dir);
  }
  RemediationSetting setting{.mode = mode, .changed_at = std::chrono::system_clock::now()};
  if (Status s = save_remediation(ctx.config, setting); !s.ok()) {
    return fail(ctx, command, kExitFailure, s.message());
  }
  if (ctx.json) {
    nlohmann::json data = {{"coordination_dir", uses_etcd(ctx.config) ? ctx.config.store.url : dir},
                           {"settings_file", settings_location(ctx.config)},
                           {"remediation", remediation_json(setting)}};
    *ctx.out << dump_json(envelope(command, true, std::move(data), {}, {}, *setting.changed_at), 2)
             << "\n";
  } else {
    *ctx.out << describe(mode) << "\n";
  }
  return kExitOk;
}

}  // namespace

void add_telemetry_commands(CLI::App& app, TelemetryArgs& args) {
  CLI::App* tel = add_command(app, "telemetry", kGroupHelp);
  tel->require_subcommand(1);
  CLI::App* en = add_command(*tel, "enable-remediation",
                             "Let the loop remediate: dry run unless --live (persisted)");
  en->add_flag("--live", args.live, "Act on decisions, not only decide and journal them");
  add_command(*tel, "disable-remediation",
              "Stop the loop from executing any decision (persisted; it still decides)");
}

int dispatch_telemetry(const CLI::App& telemetry, const Context& ctx, const TelemetryArgs& args) {
  if (telemetry.got_subcommand("enable-remediation")) {
    return set_remediation(ctx, "telemetry-enable-remediation",
                           args.live ? Mode::kLive : Mode::kDryRun);
  }
  return set_remediation(ctx, "telemetry-disable-remediation", Mode::kDisabled);
}

}  // namespace dslmodel::app

#include "app/cli.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>

#include "app/agent_commands.h"
#include "app/bounds.h"
#include "app/commands.h"
#include "app/simulate_command.h"
#include "app/telemetry_commands.h"
#include "app/work_commands.h"
#include "dslmodel/config_loader.h"

namespace dslmodel::app {
namespace {

struct Globals {
  bool json = false;
  bool verbose = false;
  std::string coord_dir;
  std::string store_url;
  std::string config_file;
};

struct Parsed {
  AnalyzeArgs analyze;
  ExecuteArgs execute;
  LoopArgs loop;
  HistoryArgs history;
  std::string rollback_id;
  WorkArgs work;
  AgentArgs agent;
  TelemetryArgs telemetry;
  SimulateArgs simulate;
};

CLI::App* add_command(CLI::App& parent, const std::string& name, const std::string& help) {
  CLI::App* c = parent.add_subcommand(name, help);
  c->fallthrough();
  return c;
}

void add_execute_flags(CLI::App* c, ExecuteArgs& a) {
  c->add_option("--max", a.max, "Execute at most N decisions per cycle")
      ->default_val(3)
      ->check(int_flag(kDecisionsBounds));
  c->add_option("--min-confidence", a.min_confidence,
                "Skip decisions whose confidence is below C (default 0.6)")
      ->check(real_flag(kConfidenceBounds));
  c->add_option("--force-confidence", a.force_confidence,
                "Lower the confidence bar to C for this run only (emergency use)")
      ->check(real_flag(kConfidenceBounds));
  c->add_flag("--dry-run", a.dry_run, "Decide and journal, but change nothing");
}

void build(CLI::App& app, Globals& g, Parsed& p) {
  app.add_flag("--json", g.json, "Print one JSON envelope instead of human output");
  app.add_option(
      "-c,--coord-dir", g.coord_dir,
      "Coordination directory (default $DSLMODEL_COORDINATION_DIR, else ./coordination)");
  app.add_option("--store", g.store_url,
                 "Keep the coordination state in etcd instead of the directory:\n"
                 "etcd://HOST:PORT[,HOST:PORT...]/PREFIX (default $DSLMODEL_STORE)");
  app.add_option("--config", g.config_file, "TOML config file (default $DSLMODEL_CONFIG)");
  app.add_flag("-v,--verbose", g.verbose, "Explain each decision: inputs, rule, gate");
  app.set_version_flag("--version", "dsl 0.1.0");
  app.require_subcommand(1);
  app.fallthrough();

  CLI::App* aut = add_command(app, "auto", "Autonomous operations: observe, decide, act");
  aut->require_subcommand(1);
  add_command(*aut, "status", "Show health, agents, queue and recent decisions");
  CLI::App* an = add_command(*aut, "analyze", "Show the decisions the engine would make now");
  an->add_option("--format", p.analyze.format, "table or json")
      ->check(CLI::IsMember({"table", "json"}));
  CLI::App* ex = add_command(*aut, "execute", "Decide, then carry out what passes the gate");
  add_execute_flags(ex, p.execute);
  ex->add_option("--format", p.execute.format, "table or json")
      ->check(CLI::IsMember({"table", "json"}));
  CLI::App* lp = add_command(*aut, "loop", "Run a cycle every interval until SIGINT/SIGTERM");
  lp->add_option("--interval", p.loop.interval_s, "Seconds between cycles (default 30)")
      ->check(real_flag({0, 86400, "seconds"}));
  lp->add_option("--max-cycles", p.loop.max_cycles, "Stop after N cycles; 0 runs until a signal")
      ->check(int_flag(kCountBounds));
  add_execute_flags(lp, p.loop.execute);
  lp->add_option("--metrics-addr", p.loop.metrics_addr,
                 "Serve /metrics, /healthz, /readyz, /status and the OTLP receiver /v1/traces on\n"
                 "HOST:PORT (default 127.0.0.1:8080; port 0 picks a free one; off disables)")
      ->each([&p](const std::string&) { p.loop.metrics_addr_given = true; });
  lp->add_option("--spans-file", p.loop.spans_file,
                 "Also write each cycle's spans as one OTLP JSON export per line to PATH");
  lp->add_flag("--leader-election", p.loop.leader_election,
               "Run as one of several replicas: only the elected leader acts\n"
               "(a lock on DIR/.dsl/leader.lock, or an etcd lease with --store; also\n"
               "DSLMODEL_AUTO_LEADER_ELECTION=true)");
  lp->add_option("--lease-ttl", p.loop.lease_ttl_s,
                 "etcd leader lease in seconds: a leader that stops renewing it loses\n"
                 "leadership after this long (default 10)")
      ->check(int_flag(kLeaseTtlBounds));
  CLI::App* hi = add_command(*aut, "history", "List journaled decisions, oldest first");
  hi->add_option("--limit", p.history.limit, "Show the last N records (default 50)")
      ->check(int_flag({0, 1'000'000'000, ""}));
  hi->add_flag("--all", p.history.all, "Also show the intent written before each action");
  CLI::App* rb = add_command(*aut, "rollback", "Reverse an executed decision by its id");
  rb->add_option("id", p.rollback_id, "Decision id (see auto history)")->required();
  add_simulate_command(*aut, p.simulate);
  add_work_commands(app, p.work);
  add_agent_commands(app, p.agent);
  add_telemetry_commands(app, p.telemetry);
}

// defaults < config file < environment (dslmodel/config_loader.h) < flags. A missing config file
// is bad configuration too (exit 2).
Status load_cli_config(const Globals& g, const EnvLookup& env, Config& config) {
  if (Status s = apply_file_and_environment(g.config_file, env, config); !s.ok()) {
    return {ErrorCode::kInvalidArgument, s.message()};
  }
  if (!g.coord_dir.empty()) config.coordination_dir = g.coord_dir;
  if (!g.store_url.empty()) config.store.url = g.store_url;
  return validate_config(config);
}

Style make_style() {
  Style s;
  s.color = isatty(STDOUT_FILENO) == 1 && std::getenv("NO_COLOR") == nullptr;  // NOLINT
  return s;
}

int dispatch(const CLI::App& app, const Context& ctx, const Parsed& p) {
  if (app.got_subcommand("work")) return dispatch_work(*app.get_subcommand("work"), ctx, p.work);
  if (app.got_subcommand("agent")) {
    return dispatch_agent(*app.get_subcommand("agent"), ctx, p.agent);
  }
  if (app.got_subcommand("telemetry")) {
    return dispatch_telemetry(*app.get_subcommand("telemetry"), ctx, p.telemetry);
  }
  const CLI::App* aut = app.get_subcommand("auto");
  if (aut->got_subcommand("status")) return run_status(ctx);
  if (aut->got_subcommand("analyze")) return run_analyze(ctx, p.analyze);
  if (aut->got_subcommand("execute")) return run_execute(ctx, p.execute);
  if (aut->got_subcommand("loop")) {
    Context loop_ctx = ctx;
    if (p.loop.leader_election) loop_ctx.config.leader_election = true;
    if (p.loop.lease_ttl_s > 0) loop_ctx.config.ha.lease_ttl = Seconds(p.loop.lease_ttl_s);
    return run_loop(loop_ctx, p.loop);
  }
  if (aut->got_subcommand("history")) return run_history(ctx, p.history);
  if (aut->got_subcommand("rollback")) return run_rollback(ctx, p.rollback_id);
  if (aut->got_subcommand("simulate")) return run_simulate(ctx, p.simulate);
  return kExitUsage;
}

}  // namespace

int run_cli(int argc, char** argv) {
  CLI::App app{
      "dsl: a self-managing controller for a swarm of worker agents.\n"
      "It reads the swarm's coordination directory, scores health, decides what to do, acts,\n"
      "and journals every decision with a way to undo it.",
      "dsl"};
  Globals g;
  Parsed p;
  build(app, g, p);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    (void)app.exit(e);
    return kExitUsage;
  }

  Context ctx;
  ctx.json = g.json;
  ctx.verbose = g.verbose;
  ctx.style = make_style();
  ctx.out = &std::cout;
  ctx.err = &std::cerr;
  if (Status s = load_cli_config(g, process_env(), ctx.config); !s.ok()) {
    return fail(ctx, "config", kExitUsage, s.message());
  }
  // Logs go to stderr, so stdout carries only what a command prints (and --json stays parseable).
  spdlog::set_default_logger(spdlog::stderr_color_mt("dsl"));
  spdlog::set_level(spdlog::level::from_str(g.verbose ? "info" : ctx.config.log_level));
  return dispatch(app, ctx, p);
}

}  // namespace dslmodel::app

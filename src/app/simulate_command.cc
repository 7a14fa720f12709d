#include "app/simulate_command.h"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>

#include "app/bounds.h"
#include "app/output.h"
#include "core/json_text.h"
#include "dslmodel/config_loader.h"
#include "sim/from_dir.h"
#include "sim/plot.h"
#include "sim/simulate.h"
#include "sim/trace.h"

namespace dslmodel::app {
namespace {

namespace fs = std::filesystem;

nlohmann::json actions_json(const std::vector<sim::ScaleAction>& as) {
  nlohmann::json out = nlohmann::json::array();
  for (const sim::ScaleAction& a : as) {
    out.push_back({{"at_s", a.at_s},
                   {"type", a.type},
                   {"from", a.from},
                   {"target", a.target},
                   {"reason", a.reason}});
  }
  return out;
}

nlohmann::json result_json(const sim::SimResult& r) {
  const nlohmann::json actions = actions_json(r.actions);
  return {{"policy", r.policy},
          {"drain_s", r.drain_s},
          {"p50_wait_s", r.p50_wait_s},
          {"p95_wait_s", r.p95_wait_s},
          {"max_wait_s", r.max_wait_s},
          {"agent_seconds", r.agent_seconds},
          {"max_agents", r.max_agents},
          {"direction_changes", r.direction_changes},
          {"scale_actions", r.scale_actions},
          {"lost", r.lost},
          {"completed", r.completed},
          {"cycles", r.cycles},
          {"actions", actions}};
}

std::string render_table(const std::string& heading, const std::vector<sim::SimResult>& rs,
                         const Style& st) {
  std::string out = st.bold(heading) + "\n";
  out += fmt::format("{:<16} {:>9} {:>9} {:>9} {:>9} {:>10} {:>6} {:>8} {:>7} {:>5}\n", "POLICY",
                     "DRAIN s", "P50 WAIT", "P95 WAIT", "MAX WAIT", "AGENT-S", "AGENTS",
                     "REVERSALS", "SCALINGS", "LOST");
  for (const sim::SimResult& r : rs) {
    out += fmt::format(
        "{:<16} {:>9.1f} {:>9.2f} {:>9.2f} {:>9.2f} {:>10.0f} {:>6} {:>8} {:>7} {:>5}\n", r.policy,
        r.drain_s, r.p50_wait_s, r.p95_wait_s, r.max_wait_s, r.agent_seconds, r.max_agents,
        r.direction_changes, r.scale_actions, r.lost);
  }
  return out;
}

Result<sim::PolicySpec> policy_for(const std::string& name, const Config& in_force) {
  if (name == "default" || name == "seed" || name == "hpa") {
    return sim::builtin_policy(name, in_force);
  }
  if (!fs::exists(name)) {
    return Status(
        ErrorCode::kInvalidArgument,
        fmt::format("--policy {}: not default, seed, hpa or an existing config file", name));
  }
  sim::PolicySpec p;
  p.name = fs::path(name).stem().string();
  if (Status s = apply_config_file(name, p.config); !s.ok()) return s;
  if (Status s = validate_config(p.config); !s.ok()) return s;
  return p;
}

int failed(const Context& ctx, int code, const std::string& message) {
  return fail(ctx, "auto-simulate", code, message);
}

// A trace file (a path: the name exists or has a '/' or '.') or a built-in trace into `trace`.
// kExitOk, or the exit code of the failure reported.
int read_trace(const Context& ctx, const SimulateArgs& a, sim::Trace& trace) {
  if (fs::exists(a.trace) || a.trace.find_first_of("/.") != std::string::npos) {
    auto t = sim::load_trace(a.trace);
    if (!t.ok()) {
      const bool unreadable =
          t.status().code() == ErrorCode::kNotFound || t.status().code() == ErrorCode::kIo;
      return failed(ctx, unreadable ? kExitFailure : kExitUsage,
                    unreadable ? t.status().message() : a.trace + ": " + t.status().message());
    }
    trace = std::move(t).value();
    return kExitOk;
  }
  auto t = sim::builtin_trace(a.trace, a.seed);
  if (!t.ok()) {
    return failed(ctx, kExitUsage,
                  fmt::format("--trace {}: no such file, and not a built-in trace ({})", a.trace,
                              t.status().message()));
  }
  trace = std::move(t).value();
  return kExitOk;
}

// The SVG chart of every policy's run; false when the file cannot be written.
bool write_plot(const std::string& path, const std::vector<sim::SimResult>& results,
                const std::string& trace_name) {
  std::vector<sim::PlotSeries> series;
  series.reserve(results.size());
  for (const sim::SimResult& r : results) series.push_back({r.policy, r.series});
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << sim::render_svg(series, fmt::format("dsl auto simulate: {}", trace_name));
  return static_cast<bool>(f.flush());
}

nlohmann::json simulate_json(const sim::Trace& trace, const sim::SimOptions& opts,
                             const std::vector<sim::SimResult>& results,
                             const std::optional<sim::RecordedRun>& recorded) {
  nlohmann::json data = {{"trace", trace.name},
                         {"items", trace.items.size()},
                         {"interval_s", opts.interval_s},
                         {"startup_lag_s", opts.startup_lag_s},
                         {"results", nlohmann::json::array()}};
  for (const sim::SimResult& r : results) data["results"].push_back(result_json(r));
  if (recorded) {
    data["recorded"] = {{"actions", actions_json(recorded->actions)},
                        {"first_cycle_s", recorded->first_cycle_s}};
  }
  return data;
}

// The text report: the results table, then the recorded scale actions.
void print_tables(const Context& ctx, const sim::Trace& trace, const sim::SimOptions& opts,
                  const std::vector<sim::SimResult>& results,
                  const std::optional<sim::RecordedRun>& recorded) {
  const double span = trace.items.back().at_s;
  std::string heading =
      fmt::format("Simulation  {}  {} items over {:.0f} s, cycle every {} s, start-up lag {} s",
                  trace.name, trace.items.size(), span, opts.interval_s, opts.startup_lag_s);
  *ctx.out << render_table(heading, results, ctx.style);
  if (recorded) {
    *ctx.out << fmt::format("recorded: {} scale actions", recorded->actions.size());
    for (const sim::ScaleAction& x : recorded->actions) {
      *ctx.out << fmt::format("  {:.0f}s {}→{}", x.at_s, x.from, x.target);
    }
    *ctx.out << "\n";
  }
}

}  // namespace

void add_simulate_command(CLI::App& auto_group, SimulateArgs& a) {
  CLI::App* c = auto_group.add_subcommand(
      "simulate",
      "Replay a workload against the engine's own policy (and the Kubernetes HPA algorithm as\n"
      "a baseline) on a virtual clock: drain time, waits, agent-seconds, scalings");
  c->fallthrough();
  c->add_option("--trace", a.trace,
                "A trace file (CSV or JSON lines: at, duration_s, priority) or a built-in\n"
                "trace: burst, steady, spike, ramp, crash, diurnal");
  c->add_option("--from-dir", a.from_dir,
                "Replay the work a coordination directory recorded, beside what its journal\n"
                "says the loop did");
  c->add_option("--policy", a.policies,
                "default (the configuration in force), seed (the seed's step rules), hpa, or a\n"
                "TOML config file; repeatable (default: default, seed and hpa)");
  c->add_option("--interval", a.interval_s, "Seconds between engine cycles (default 15)")
      ->check(real_flag({0.001, 86400, "seconds"}));
  c->add_option("--startup-lag", a.startup_lag_s,
                "Seconds from a scale-up to a model agent's first heartbeat (default 1; with\n"
                "--from-dir the lag measured in its journal)")
      ->check(real_flag({0, 3600, "seconds"}));
  c->add_option("--initial-agents", a.initial_agents,
                "Agents running at the start (default min_agents; 0 with --from-dir)")
      ->check(int_flag(kAgentCountBounds));
  c->add_option("--seed", a.seed, "Seed of the built-in traces (default 1)")
      ->check(int_flag(kCountBounds));
  c->add_option("--plot", a.plot, "Write agents, queue and health over time to this SVG file");
  c->add_option("--format", a.format, "table or json")->check(CLI::IsMember({"table", "json"}));
}

int run_simulate(const Context& ctx, const SimulateArgs& a) {
  if (a.trace.empty() == a.from_dir.empty()) {
    return failed(ctx, kExitUsage,
                  "auto simulate needs exactly one of --trace FILE|NAME or --from-dir DIR "
                  "(built-in traces: burst, steady, spike, ramp, crash, diurnal)");
  }
  sim::SimOptions opts;
  opts.interval_s = a.interval_s;
  opts.initial_agents = a.initial_agents;
  opts.series = !a.plot.empty();
  opts.startup_lag_s = a.startup_lag_s >= 0 ? a.startup_lag_s : 1.0;
  sim::Trace trace;
  std::optional<sim::RecordedRun> recorded;
  if (!a.from_dir.empty()) {
    Config c = ctx.config;
    c.coordination_dir = a.from_dir;
    auto run = sim::read_recorded_run(c);
    if (!run.ok()) {
      return failed(ctx, kExitFailure, run.status().message());
    }
    recorded = std::move(run).value();
    trace = recorded->trace;
    opts.origin = recorded->origin;
    opts.first_cycle_s = recorded->first_cycle_s;
    if (a.startup_lag_s < 0) opts.startup_lag_s = recorded->startup_lag_s;
    if (a.initial_agents < 0) opts.initial_agents = 0;
  } else if (const int code = read_trace(ctx, a, trace); code != kExitOk) {
    return code;
  }

  const std::vector<std::string> names =
      a.policies.empty() ? std::vector<std::string>{"default", "seed", "hpa"} : a.policies;
  std::vector<sim::SimResult> results;
  for (const std::string& name : names) {
    auto policy = policy_for(name, ctx.config);
    if (!policy.ok()) return failed(ctx, kExitUsage, policy.status().message());
    auto r = sim::simulate(trace, *policy, opts);
    if (!r.ok()) return failed(ctx, kExitUsage, r.status().message());
    results.push_back(std::move(r).value());
  }

  if (!a.plot.empty() && !write_plot(a.plot, results, trace.name)) {
    return failed(ctx, kExitFailure, "cannot write " + a.plot);
  }

  const nlohmann::json data = simulate_json(trace, opts, results, recorded);
  if (ctx.json || a.format == "json") {
    nlohmann::json out = data;
    if (ctx.json) {  // the envelope, with the results also at the top level
      out = envelope("auto-simulate", true, data, {}, {}, std::chrono::system_clock::now());
      out["results"] = data["results"];
    }
    *ctx.out << dump_json(out, 2) << "\n";
    return kExitOk;
  }
  print_tables(ctx, trace, opts, results, recorded);
  if (!a.plot.empty()) *ctx.out << "plot: " << a.plot << "\n";
  return kExitOk;
}

}  // namespace dslmodel::app

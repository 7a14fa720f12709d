// `dsl agent run`. SIGINT and SIGTERM are blocked in every thread (before any is started, so the
// agent's threads inherit the mask) and taken by one watcher thread, which requests the agent's
// stop; the agent then claims nothing more, gives its item the grace, marks itself stopped.
#include "app/agent_commands.h"

#include <fmt/format.h>
#include <pthread.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <ostream>
#include <stop_token>
#include <thread>

#include "agent/agent.h"
#include "app/bounds.h"
#include "app/observability.h"
#include "app/signals.h"
#include "core/json_text.h"
#include "factory/actuator_factory.h"
#include "factory/backends.h"

namespace dslmodel::app {
namespace {

std::string hostname() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "localhost";
  return buf;
}

// Checks the parsed flags. Returns an empty string when they are usable.
std::string usage_error(const AgentArgs& a) {
  constexpr std::string_view kIdChars =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-";
  if (a.id.size() > 128 || a.id.find_first_not_of(kIdChars) != std::string::npos) {
    return "agent run: --id must be 1-128 characters from [A-Za-z0-9._-]";
  }
  // Numeric flags are range-checked while parsing (app/bounds.h).
  if (!a.prompt_handler.empty() && a.prompt_handler.front().empty()) {
    return "agent run: --prompt-handler: the program must not be empty";
  }
  return {};
}

agent::AgentConfig to_agent_config(const AgentArgs& a) {
  using std::chrono::milliseconds;
  agent::AgentConfig c;
  c.host = hostname();
  c.id = a.id.empty() ? fmt::format("agent-{}-{}", c.host, ::getpid()) : a.id;
  c.heartbeat_interval = milliseconds(static_cast<std::int64_t>(a.heartbeat_s * 1000));
  c.poll_interval = milliseconds(a.poll_ms);
  c.default_timeout = Seconds(a.timeout_s);
  c.grace = milliseconds(static_cast<std::int64_t>(a.grace_s * 1000));
  c.prompt_handler = a.prompt_handler;
  c.max_items = a.max_items;
  c.exit_when_idle = a.exit_when_idle;
  return c;
}

nlohmann::json stats_json(const agent::AgentStats& s) {
  return {
      {"claimed", s.claimed},          {"completed", s.completed}, {"failed", s.failed},
      {"retrying", s.retrying},        {"released", s.released},   {"lost_claims", s.lost_claims},
      {"store_errors", s.store_errors}};
}

void print_summary(const Context& ctx, const std::string& id, const agent::AgentStats& s) {
  if (ctx.json) {
    *ctx.out << dump_json(envelope("agent-run", true, {{"id", id}, {"stats", stats_json(s)}}, {},
                                   {}, std::chrono::system_clock::now()),
                          2)
             << "\n";
    return;
  }
  *ctx.out << fmt::format(
      "agent {} stopped: {} claimed, {} completed, {} failed ({} to retry), {} released, {} "
      "lost\n",
      id, s.claimed, s.completed, s.failed, s.retrying, s.released, s.lost_claims);
}

int run_agent(const Context& ctx, const AgentArgs& args) {
  if (std::string why = usage_error(args); !why.empty()) {
    return fail(ctx, "agent-run", kExitUsage, why);
  }
  const std::string& dir = ctx.config.coordination_dir;
  std::error_code ec;
  if (!uses_etcd(ctx.config) && !std::filesystem::is_directory(dir, ec)) {
    return fail(ctx, "agent-run", kExitFailure, "coordination directory not found: " + dir);
  }
  auto queue = make_work_queue(ctx.config);
  if (!queue.ok()) return fail(ctx, "agent-run", kExitUsage, queue.status().message());
  // Logs go to stderr: stdout carries the summary or the JSON envelope.
  spdlog::set_level(spdlog::level::from_str(ctx.verbose ? "info" : ctx.config.log_level));

  // Spans to OTEL_EXPORTER_OTLP_ENDPOINT (e.g. the loop's own receiver), when set.
  auto spans = make_span_exporter("", process_env());
  if (!spans.ok()) return fail(ctx, "agent-run", kExitUsage, spans.status().message());

  SignalBlock block;
  std::stop_source stop;
  std::jthread watcher([&](const std::stop_token& self) {
    watch_signals(self, block.set(), stop, *ctx.err, "finishing or releasing the current item");
  });
  SystemClock clock;
  agent::AgentConfig config = to_agent_config(args);
  config.spans = spans->get();
  agent::Agent worker(**queue, std::move(config), clock);
  const agent::AgentStats stats = worker.run(stop.get_token());
  if (*spans) (*spans)->flush(std::chrono::seconds(2));
  print_summary(ctx, worker.config().id, stats);
  return kExitOk;
}

}  // namespace

void add_agent_commands(CLI::App& app, AgentArgs& args) {
  CLI::App* group = app.add_subcommand("agent", "The reference agent that works the queue");
  group->fallthrough();
  group->require_subcommand(1);
  CLI::App* run = group->add_subcommand(
      "run",
      "Heartbeat, claim one item at a time, run it (argv, no shell) or hand its prompt to the\n"
      "prompt handler, report; until SIGTERM/SIGINT, which finishes or releases the item");
  run->fallthrough();
  run->add_option("--id", args.id, "Agent id (default agent-<hostname>-<pid>)");
  run->add_option("--heartbeat", args.heartbeat_s, "Seconds between heartbeats (default 5)")
      ->check(real_flag({0.001, kRealSecondsBounds.hi, "seconds"}));
  run->add_option("--poll-ms", args.poll_ms,
                  "Milliseconds between claims while the queue is empty (default 200)")
      ->check(int_flag(kMillisBounds));
  run->add_option("--timeout", args.timeout_s,
                  "Seconds an item without its own timeout may run (default 300)")
      ->check(int_flag(kPositiveSecondsBounds));
  run->add_option("--grace", args.grace_s,
                  "On SIGTERM/SIGINT: seconds the running item may still finish before it is "
                  "killed and released (default 10)")
      ->check(real_flag(kRealSecondsBounds));
  run->add_option("--prompt-handler", args.prompt_handler,
                  "Command that gets a prompt item's text on stdin; repeat once per argument, "
                  "e.g. --prompt-handler llm --prompt-handler=-m (default: none, prompts fail)")
      ->allow_extra_args(false);
  run->add_option("--max-items", args.max_items,
                  "Exit after claiming N items (default 0: no limit)")
      ->check(int_flag(kCountBounds));
  run->add_flag("--exit-when-idle", args.exit_when_idle, "Exit once nothing is pending");
  CLI::App* stop = group->add_subcommand(
      "stop",
      "Stop agents the process supervisor started on this host (SIGTERM, then SIGKILL after\n"
      "actuator.agent_grace); with no ids, all of them");
  stop->fallthrough();
  stop->add_option("ids", args.stop_ids, "Agent ids (see .dsl/supervisor.json)");
  add_pool_command(*group, args.pool);
}

namespace {

int stop_agents(const Context& ctx, const AgentArgs& args) {
  const SystemClock clock;
  auto sup = make_supervisor(engine_config(ctx, EngineMode::kAct), clock);
  if (!sup.ok()) return fail(ctx, "agent-stop", kExitUsage, sup.status().message());
  std::vector<std::string> ids = args.stop_ids;
  if (ids.empty()) {
    for (const auto& a : (*sup)->agents()) ids.push_back(a.id);
  }
  auto r = (*sup)->undo({{"kind", "process"}, {"started", ids}});
  if (!r.ok()) return fail(ctx, "agent-stop", kExitFailure, r.status().message());
  if (ctx.json) {
    *ctx.out << dump_json(envelope("agent-stop", true, {{"result", r->summary}}, {}, {},
                                   std::chrono::system_clock::now()),
                          2)
             << "\n";
  } else {
    *ctx.out << r->summary << "\n";
  }
  return kExitOk;
}

}  // namespace

int dispatch_agent(const CLI::App& agent, const Context& ctx, const AgentArgs& args) {
  if (agent.got_subcommand("run")) return run_agent(ctx, args);
  if (agent.got_subcommand("stop")) return stop_agents(ctx, args);
  if (agent.got_subcommand("pool")) return run_pool(ctx, args.pool);
  return kExitUsage;
}

}  // namespace dslmodel::app

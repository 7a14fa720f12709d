// `dsl agent pool`: flags to a PoolRunner (pool/pool_runner.h) and its reports to the terminal.
// SIGINT and SIGTERM are blocked in every thread (before any is started) and taken by one watcher
// thread, which requests stop; the runner then stops its agents and revokes its lease.
#include "app/pool_commands.h"

#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <filesystem>
#include <ostream>
#include <stop_token>
#include <thread>

#include "app/bounds.h"
#include "app/signals.h"
#include "core/json_text.h"
#include "core/template.h"
#include "dslmodel/config_loader.h"
#include "etcd/client.h"
#include "pool/pool_runner.h"

namespace dslmodel::app {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using std::chrono::milliseconds;

constexpr std::string_view kCommand = "agent-pool";
constexpr std::size_t kMaxIdLength = 64;

std::string hostname() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "localhost";
  return buf;
}

bool is_id_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_' || c == '.';
}

// "<hostname>-<pid>", with characters a pool id cannot hold replaced by '-'.
std::string default_id() {
  std::string id = fmt::format("{}-{}", hostname(), ::getpid());
  std::replace_if(
      id.begin(), id.end(), [](char c) { return !is_id_char(c); }, '-');
  return id.substr(0, kMaxIdLength);
}

fs::path default_state_dir(const std::string& id) {
  const EnvLookup env = process_env();
  const std::string leaf = "pool-" + id;
  if (auto x = env("XDG_STATE_HOME"); x && !x->empty()) return fs::path(*x) / "dslmodel" / leaf;
  if (auto h = env("HOME"); h && !h->empty()) {
    return fs::path(*h) / ".local" / "state" / "dslmodel" / leaf;
  }
  return fs::path(".dslmodel") / leaf;
}

// The agents' argv: actuator.agent_command ({store_url} expanded here) or this binary's
// `agent run` on the same store.
std::vector<std::string> agent_argv(const Config& config, const std::string& url) {
  if (!config.actuator.agent_command.empty()) {
    const Placeholder store_url[] = {{"store_url", url}};
    return expand_argv(config.actuator.agent_command, store_url);
  }
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  return {ec ? std::string("dsl") : self.string(),
          "agent",
          "run",
          "--store",
          url,
          "--id",
          "{agent_id}"};
}

// Everything the flags and the configuration decide; kInvalidArgument with the message to print
// (exit 2).
Result<pool::PoolRunnerConfig> resolve(const Context& ctx, const PoolArgs& args) {
  const auto bad = [](const std::string& m) { return Status(ErrorCode::kInvalidArgument, m); };
  if (ctx.config.store.url.empty()) {
    return bad("agent pool needs an etcd store: pass --store etcd://host:port/prefix");
  }
  pool::PoolRunnerConfig s;
  s.url = ctx.config.store.url;
  auto parsed = etcd::parse_store_url(s.url);
  if (!parsed.ok()) return bad("agent pool: --store: " + parsed.status().message());
  s.store = std::move(parsed).value();
  s.id = args.id.empty() ? default_id() : args.id;
  if (s.id.empty() || s.id.size() > kMaxIdLength ||
      !std::all_of(s.id.begin(), s.id.end(), is_id_char)) {
    return bad("agent pool: --id must be 1-64 characters from [A-Za-z0-9._-]");
  }
  if (args.max_agents) s.max_agents = *args.max_agents;
  s.host = hostname();
  s.state_dir = args.state_dir.empty() ? default_state_dir(s.id) : fs::path(args.state_dir);
  s.lease_ttl = std::max(ctx.config.ha.lease_ttl, std::chrono::seconds(2));
  const auto interval = milliseconds(static_cast<std::int64_t>(args.interval_s * 1000));
  s.period = std::max(interval, milliseconds(10));
  s.agent_command = agent_argv(ctx.config, s.url);
  s.grace = ctx.config.actuator.agent_grace;
  s.replace_dead = ctx.config.actuator.replace_dead_agents;
  return s;
}

// Prints what the runner does: a line whenever share or running count change (an envelope per
// line with --json), failures on stderr.
class PoolPrinter final : public pool::PoolReporter {
 public:
  PoolPrinter(const Context& ctx, std::string id, std::chrono::seconds lease_ttl)
      : ctx_(ctx), id_(std::move(id)), lease_ttl_(lease_ttl) {}

  void report(const pool::PoolReport& r) override {
    const auto running = r.agents.size();
    if (ctx_.json) {
      print_json({{"pool", id_},
                  {"running", running},
                  {"share", r.share},
                  {"desired", r.desired ? json(*r.desired) : json(nullptr)},
                  {"pools", r.pools},
                  {"agents", r.agents}});
      return;
    }
    if (!r.desired) {
      *ctx_.out << fmt::format("pool {}: running {} (no desired count set yet; {} pool(s))", id_,
                               running, r.pools)
                << std::endl;
      return;
    }
    *ctx_.out << fmt::format("pool {}: running {} of {} desired (share {} of {} pool(s))", id_,
                             running, *r.desired, r.share, r.pools)
              << std::endl;
  }

  void scale_failed(int share, const std::string& error) override {
    *ctx_.err << "dsl: pool " << id_ << ": cannot run " << share << " agents: " << error << "\n";
  }

  void trouble(const Status& s, bool unreachable, std::size_t running) override {
    const std::string what =
        unreachable ? fmt::format("etcd unreachable ({})", s.message()) : s.message();
    *ctx_.err << fmt::format("dsl: pool {}: {}; keeping {} agent(s) running, retrying\n", id_, what,
                             running);
  }

  void recovered() override { *ctx_.err << "dsl: pool " << id_ << ": etcd is answering again\n"; }

  void stopped(const pool::PoolStopReport& r) override {
    if (r.stop_error) *ctx_.err << "dsl: warning: " << r.stop_error->message() << "\n";
    std::string record = "its member record is gone";
    if (r.revoke_error) {
      record = fmt::format("its member record expires within {} s ({})", lease_ttl_.count(),
                           r.revoke_error->message());
    }
    if (ctx_.json) {
      print_json({{"pool", id_},
                  {"stopped_agents", r.stopped_agents},
                  {"started", r.stats.started},
                  {"deaths", r.stats.deaths},
                  {"replacements", r.stats.replacements}});
      return;
    }
    *ctx_.out << fmt::format(
                     "pool {} stopped: {} agent(s) stopped; over its run {} started, {} died, {} "
                     "replaced; {}",
                     id_, r.stopped_agents, r.stats.started, r.stats.deaths, r.stats.replacements,
                     record)
              << std::endl;
  }

 private:
  void print_json(json data) {
    *ctx_.out << dump_json(envelope(std::string(kCommand), true, std::move(data), {}, {},
                                    std::chrono::system_clock::now()))
              << std::endl;
  }

  const Context& ctx_;
  const std::string id_;
  const std::chrono::seconds lease_ttl_;
};

}  // namespace

int run_pool(const Context& ctx, const PoolArgs& args) {
  SignalBlock block;
  std::stop_source stop;
  std::jthread signals([&](const std::stop_token& self) {
    watch_signals(self, block.set(), stop, *ctx.err, "stopping the pool's agents", nullptr);
  });
  auto setup = resolve(ctx, args);
  if (!setup.ok()) return fail(ctx, std::string(kCommand), kExitUsage, setup.status().message());
  PoolPrinter printer(ctx, setup->id, setup->lease_ttl);
  const SystemClock clock;
  auto runner = pool::PoolRunner::create(std::move(setup).value(), printer, clock);
  if (!runner.ok()) {
    const int code = runner.status().code() == ErrorCode::kIo ? kExitFailure : kExitUsage;
    return fail(ctx, std::string(kCommand), code, runner.status().message());
  }
  (*runner)->run(stop.get_token());
  return kExitOk;
}

void add_pool_command(CLI::App& agent_group, PoolArgs& args) {
  CLI::App* pool = agent_group.add_subcommand(
      "pool", "Run this host's share of a swarm spread over several hosts (needs --store etcd://)");
  pool->footer(
      "The leader engine (actuator.kind = \"pool\") writes the desired agent count to\n"
      "<prefix>/pool/desired. Every host runs one pool, which registers itself under\n"
      "<prefix>/pool/member/<id> with a lease (engine.lease_ttl) and runs its share: with the n\n"
      "registered pools sorted by id, each runs desired / n agents and the first desired % n one\n"
      "more (at most --max-agents). Agents run this binary's `agent run --store URL --id <pool\n"
      "id>-...`, or actuator.agent_command with {agent_id}, {store_url} and {coordination_dir}\n"
      "(the state dir); they log under <state dir>/.dsl/logs and are replaced when they die.\n"
      "Prints a line whenever its share or running count changes (a JSON envelope per line with\n"
      "--json). SIGTERM/SIGINT stops its agents (SIGTERM, SIGKILL after actuator.agent_grace)\n"
      "and revokes the lease, so the other pools take over at once. While etcd is unreachable\n"
      "it keeps its agents running and retries.\n"
      "\n"
      "Example: on each host   dsl --store etcd://10.0.0.5:2379/swarm agent pool\n"
      "         on the engine  dsl --store etcd://10.0.0.5:2379/swarm auto loop\n"
      "                        with [actuator] kind = \"pool\" in its config file");
  pool->fallthrough();
  pool->add_option("--id", args.id,
                   "Pool id, unique among the hosts; it prefixes its agents' ids "
                   "(default <hostname>-<pid>)");
  pool->add_option("--state-dir", args.state_dir,
                   "Where the pool records its agents (supervisor.json) and their logs (default "
                   "$XDG_STATE_HOME/dslmodel/pool-<id>, else ~/.local/state/dslmodel/pool-<id>)");
  pool->add_option("--interval", args.interval_s,
                   "Seconds between checks of the desired count and the other pools (default 1; "
                   "a change in etcd is seen at once)")
      ->check(real_flag({0.001, 86400, "seconds"}));
  pool->add_option("--max-agents", args.max_agents,
                   "Never run more than N agents on this host, whatever its share (default: no "
                   "limit)")
      ->check(int_flag(kAgentCountBounds));
}

}  // namespace dslmodel::app

// `dsl agent pool`. SIGINT and SIGTERM are blocked in every thread (before any is started) and
// taken by one watcher thread, which requests stop and wakes the loop. A second thread watches
// P/pool/ in etcd and wakes the loop early when the desired count or another pool changes.
// Everything else (lease, reads, scaling, announcements, output) runs on the calling thread.
#include "app/pool_commands.h"

#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <condition_variable>
#include <filesystem>
#include <limits>
#include <mutex>
#include <ostream>
#include <stop_token>
#include <thread>

#include "actuate/process_supervisor.h"
#include "app/bounds.h"
#include "app/signals.h"
#include "core/json_text.h"
#include "dslmodel/config_loader.h"
#include "etcd/client.h"
#include "store/etcd_pool.h"

namespace dslmodel::app {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using std::chrono::milliseconds;

constexpr std::string_view kCommand = "agent-pool";
constexpr std::size_t kMaxIdLength = 64;
constexpr milliseconds kWatchRetry{1000};
constexpr std::chrono::seconds kWatchTimeout{30};

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

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  for (std::size_t pos = s.find(from); pos != std::string::npos;
       pos = s.find(from, pos + to.size())) {
    s.replace(pos, from.size(), to);
  }
}

// The agents' argv: actuator.agent_command ({store_url} expanded here) or this binary's
// `agent run` on the same store.
std::vector<std::string> agent_argv(const Config& config, const std::string& url) {
  if (!config.actuator.agent_command.empty()) {
    std::vector<std::string> argv = config.actuator.agent_command;
    for (auto& a : argv) replace_all(a, "{store_url}", url);
    return argv;
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

// Everything the flags and the configuration decide.
struct PoolSetup {
  std::string id;
  std::string host;
  std::string url;
  etcd::StoreUrl store;
  fs::path state_dir;
  milliseconds period{1000};  // between ticks
  std::chrono::seconds lease_ttl{10};
  int max_agents = std::numeric_limits<int>::max();
};

// kInvalidArgument with the message to print (exit 2).
Result<PoolSetup> resolve(const Context& ctx, const PoolArgs& args) {
  const auto bad = [](const std::string& m) { return Status(ErrorCode::kInvalidArgument, m); };
  if (ctx.config.store.url.empty()) {
    return bad("agent pool needs an etcd store: pass --store etcd://host:port/prefix");
  }
  PoolSetup s;
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
  return s;
}

// One pool: share, supervisor, announcements. Used from one thread (the lease is kept by another).
class Pool {
 public:
  Pool(const Context& ctx, PoolSetup setup, etcd::Client& client, store::PoolLease& lease,
       actuate::ProcessActuator& supervisor, const Clock& clock)
      : ctx_(ctx),
        s_(std::move(setup)),
        pool_(client, s_.store.prefix, clock),
        lease_(lease),
        supervisor_(supervisor) {}

  std::string own_key() const { return pool_.member_key(s_.id); }
  std::string watch_prefix() const { return pool_.pool_prefix(); }

  // One pass: get the lease, read the count and the pools, scale, announce, report.
  void tick() {
    bool fresh = false;
    auto lease = lease_.get(&fresh);
    if (!lease.ok()) return trouble(lease.status());
    if (fresh) announced_.reset();  // the record went with the old lease
    auto desired = pool_.desired();
    if (!desired.ok()) return trouble(desired.status());
    auto members = pool_.members();
    if (!members.ok()) return trouble(members.status());
    recovered();
    std::vector<std::string> ids = {s_.id};
    for (const auto& m : *members) ids.push_back(m.id);
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    const int target = *desired ? (*desired)->target : 0;
    const int share = std::min(store::share_of(target, ids, s_.id), s_.max_agents);
    scale_to(share);
    const auto agents = supervisor_.agents();
    announce(share, agents, *lease);
    report(*desired ? std::optional<int>(target) : std::nullopt, share, agents,
           static_cast<int>(ids.size()));
  }

  // Stops every agent, revokes the lease, prints the summary.
  void shutdown(milliseconds grace) {
    const auto before = supervisor_.agents().size();
    Status stopped = supervisor_.stop_all(grace);
    if (!stopped.ok()) *ctx_.err << "dsl: warning: " << stopped.message() << "\n";
    std::string record = "its member record is gone";
    if (Status s = lease_.revoke(); !s.ok()) {
      record = fmt::format("its member record expires within {} s ({})", s_.lease_ttl.count(),
                           s.message());
    }
    const actuate::SupervisorStats st = supervisor_.stats();
    if (ctx_.json) {
      *ctx_.out << dump_json(envelope(std::string(kCommand), true,
                                      {{"pool", s_.id},
                                       {"stopped_agents", before},
                                       {"started", st.started},
                                       {"deaths", st.deaths},
                                       {"replacements", st.replacements}},
                                      {}, {}, std::chrono::system_clock::now()))
                << std::endl;
      return;
    }
    *ctx_.out << fmt::format(
                     "pool {} stopped: {} agent(s) stopped; over its run {} started, {} died, {} "
                     "replaced; {}",
                     s_.id, before, st.started, st.deaths, st.replacements, record)
              << std::endl;
  }

 private:
  void scale_to(int share) {
    const auto live = static_cast<int>(supervisor_.agents().size());
    // Agents that died and wait for their backoff count as running: the supervisor restarts them.
    const auto pending = static_cast<int>(supervisor_.pending_replacements());
    if (live + pending == share) return;
    ScaleRequest req;
    req.current_agents = live;
    req.target_agents = share;
    req.decision_id = "pool-" + s_.id;
    auto r = supervisor_.scale(req);
    const std::string error = r.ok() ? std::string() : r.status().message();
    if (!error.empty() && error != scale_error_) {
      *ctx_.err << "dsl: pool " << s_.id << ": cannot run " << share << " agents: " << error
                << "\n";
    }
    scale_error_ = error;
  }

  void announce(int share, const std::vector<actuate::SupervisedAgent>& agents,
                std::int64_t lease) {
    store::PoolMember m;
    m.id = s_.id;
    m.host = s_.host;
    m.pid = ::getpid();
    m.running = static_cast<int>(agents.size());
    m.share = share;
    for (const auto& a : agents) m.agents.push_back(a.id);
    if (announced_ && announced_->running == m.running && announced_->share == m.share &&
        announced_->agents == m.agents) {
      return;
    }
    if (Status s = pool_.announce(m, lease); !s.ok()) {
      (void)lease_.renew();  // a lease that expired is forgotten: the next tick registers again
      return trouble(s);
    }
    announced_ = std::move(m);
  }

  void report(std::optional<int> target, int share,
              const std::vector<actuate::SupervisedAgent>& agents, int pools) {
    const auto running = static_cast<int>(agents.size());
    if (reported_ && reported_->first == share && reported_->second == running) return;
    reported_ = {share, running};
    if (ctx_.json) {
      json ids = json::array();
      for (const auto& a : agents) ids.push_back(a.id);
      *ctx_.out << dump_json(envelope(std::string(kCommand), true,
                                      {{"pool", s_.id},
                                       {"running", running},
                                       {"share", share},
                                       {"desired", target ? json(*target) : json(nullptr)},
                                       {"pools", pools},
                                       {"agents", ids}},
                                      {}, {}, std::chrono::system_clock::now()))
                << std::endl;
      return;
    }
    if (!target) {
      *ctx_.out << fmt::format("pool {}: running {} (no desired count set yet; {} pool(s))", s_.id,
                               running, pools)
                << std::endl;
      return;
    }
    *ctx_.out << fmt::format("pool {}: running {} of {} desired (share {} of {} pool(s))", s_.id,
                             running, *target, share, pools)
              << std::endl;
  }

  // Says once per kind of failure that etcd cannot be used; the agents keep running.
  void trouble(const Status& s) {
    const bool unreachable = s.code() == ErrorCode::kUnavailable || s.code() == ErrorCode::kTimeout;
    const ErrorCode kind = unreachable ? ErrorCode::kUnavailable : s.code();
    if (trouble_ == kind) return;
    trouble_ = kind;
    const auto running = supervisor_.agents().size();
    if (unreachable) {
      *ctx_.err << fmt::format(
          "dsl: pool {}: etcd unreachable ({}); keeping {} agent(s) running, retrying\n", s_.id,
          s.message(), running);
    } else {
      *ctx_.err << fmt::format("dsl: pool {}: {}; keeping {} agent(s) running, retrying\n", s_.id,
                               s.message(), running);
    }
  }

  void recovered() {
    if (trouble_ == ErrorCode::kOk) return;
    trouble_ = ErrorCode::kOk;
    *ctx_.err << "dsl: pool " << s_.id << ": etcd is answering again\n";
  }

  const Context& ctx_;
  const PoolSetup s_;
  store::EtcdPool pool_;
  store::PoolLease& lease_;
  actuate::ProcessActuator& supervisor_;
  std::optional<store::PoolMember> announced_;   // the record as last written under the lease
  std::optional<std::pair<int, int>> reported_;  // share and running as last printed
  ErrorCode trouble_ = ErrorCode::kOk;           // the failure last reported
  std::string scale_error_;
};

// Wakes the loop on every change under P/pool/ but the pool's own record, until `stop`.
void watch_pool(const std::stop_token& stop, etcd::Client& client, const std::string& prefix,
                const std::string& own_key, std::mutex& mu, std::condition_variable_any& cv,
                bool& woken) {
  const auto on_events = [&](const std::vector<etcd::WatchEvent>& events) {
    const bool other = std::any_of(events.begin(), events.end(),
                                   [&](const etcd::WatchEvent& e) { return e.kv.key != own_key; });
    if (other) {
      const std::lock_guard lock(mu);
      woken = true;
      cv.notify_all();
    }
    return !stop.stop_requested();
  };
  while (!stop.stop_requested()) {
    Status s = client.watch(prefix, etcd::prefix_end(prefix), 0, on_events,
                            milliseconds(kWatchTimeout), stop);
    if (s.ok()) continue;
    std::unique_lock lock(mu);  // the main loop's periodic tick covers the gap
    cv.wait_for(lock, stop, kWatchRetry, [] { return false; });
  }
}

Result<std::unique_ptr<actuate::ProcessActuator>> make_pool_supervisor(const Context& ctx,
                                                                       const PoolSetup& s,
                                                                       const Clock& clock) {
  actuate::SupervisorConfig c;
  c.agent_command = agent_argv(ctx.config, s.url);
  c.coordination_dir = s.state_dir.string();
  c.state_file = s.state_dir / "supervisor.json";
  c.grace = ctx.config.actuator.agent_grace;
  c.replace_dead = ctx.config.actuator.replace_dead_agents;
  c.id_prefix = s.id;
  return actuate::ProcessActuator::create(std::move(c), clock);
}

}  // namespace

int run_pool(const Context& ctx, const PoolArgs& args) {
  SignalBlock block;
  std::stop_source stop;
  std::mutex mu;
  std::condition_variable_any cv;
  bool woken = false;  // guarded by mu
  std::jthread signals([&](const std::stop_token& self) {
    watch_signals(self, block.set(), stop, *ctx.err, "stopping the pool's agents", &cv);
  });

  auto setup = resolve(ctx, args);
  if (!setup.ok()) return fail(ctx, std::string(kCommand), kExitUsage, setup.status().message());
  std::error_code ec;
  fs::create_directories(setup->state_dir, ec);
  if (ec) {
    return fail(ctx, std::string(kCommand), kExitFailure,
                fmt::format("cannot create {}: {}", setup->state_dir.string(), ec.message()));
  }
  const SystemClock clock;
  auto supervisor = make_pool_supervisor(ctx, *setup, clock);
  if (!supervisor.ok()) {
    return fail(ctx, std::string(kCommand), kExitUsage, supervisor.status().message());
  }
  const milliseconds period = setup->period;
  etcd::Client client(setup->store.endpoints);
  store::PoolLease lease(client, setup->lease_ttl);
  Pool pool(ctx, std::move(setup).value(), client, lease, **supervisor, clock);
  std::jthread keeper([&](const std::stop_token& self) { lease.keep(self); });
  std::jthread watcher([&](const std::stop_token& self) {
    watch_pool(self, client, pool.watch_prefix(), pool.own_key(), mu, cv, woken);
  });
  while (!stop.stop_requested()) {
    pool.tick();
    std::unique_lock lock(mu);
    cv.wait_for(lock, stop.get_token(), period, [&] { return woken; });
    woken = false;
  }
  watcher.request_stop();
  cv.notify_all();
  watcher.join();
  pool.shutdown(ctx.config.actuator.agent_grace);  // the keeper renews the lease meanwhile
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

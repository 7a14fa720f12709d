// PoolRunner: the tick (lease, desired count, peers, scale, announce, report) and the threads
// that keep the lease and watch P/pool/ (pool/pool_runner.h).
#include "pool/pool_runner.h"

#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <system_error>
#include <thread>
#include <utility>

#include "store/etcd_pool.h"

namespace dslmodel::pool {
namespace {

using std::chrono::milliseconds;

constexpr milliseconds kWatchRetry{1000};
constexpr std::chrono::seconds kWatchTimeout{30};

}  // namespace

class PoolRunner::Impl {
 public:
  Impl(PoolRunnerConfig config, PoolReporter& reporter, const Clock& clock,
       std::unique_ptr<actuate::ProcessActuator> supervisor)
      : s_(std::move(config)),
        reporter_(reporter),
        client_(s_.store.endpoints),
        pool_(client_, s_.store.prefix, clock),
        lease_(client_, s_.lease_ttl),
        supervisor_(std::move(supervisor)) {}

  void run(const std::stop_token& stop) {
    std::jthread keeper([&](const std::stop_token& self) { lease_.keep(self); });
    std::jthread watcher([&](const std::stop_token& self) { watch(self); });
    while (!stop.stop_requested()) {
      tick();
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, stop, s_.period, [&] { return woken_; });
      woken_ = false;
    }
    watcher.request_stop();
    cv_.notify_all();
    watcher.join();
    shutdown();  // the keeper renews the lease meanwhile
  }

 private:
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
    PoolReport r;
    r.desired = *desired ? std::optional<int>(target) : std::nullopt;
    r.share = share;
    r.pools = static_cast<int>(ids.size());
    for (const auto& a : supervisor_->agents()) r.agents.push_back(a.id);
    announce(r, *lease);
    if (reported_ && reported_->first == share &&
        reported_->second == static_cast<int>(r.agents.size())) {
      return;
    }
    reported_ = {share, static_cast<int>(r.agents.size())};
    reporter_.report(r);
  }

  // Stops every agent and revokes the lease.
  void shutdown() {
    PoolStopReport r;
    r.stopped_agents = supervisor_->agents().size();
    if (Status s = supervisor_->stop_all(s_.grace); !s.ok()) r.stop_error = s;
    if (Status s = lease_.revoke(); !s.ok()) r.revoke_error = s;
    r.stats = supervisor_->stats();
    reporter_.stopped(r);
  }

  void scale_to(int share) {
    const auto live = static_cast<int>(supervisor_->agents().size());
    // Agents that died and wait for their backoff count as running: the supervisor restarts them.
    const auto pending = static_cast<int>(supervisor_->pending_replacements());
    if (live + pending == share) return;
    ScaleRequest req;
    req.current_agents = live;
    req.target_agents = share;
    req.decision_id = "pool-" + s_.id;
    auto r = supervisor_->scale(req);
    const std::string error = r.ok() ? std::string() : r.status().message();
    if (!error.empty() && error != scale_error_) reporter_.scale_failed(share, error);
    scale_error_ = error;
  }

  void announce(const PoolReport& r, std::int64_t lease) {
    store::PoolMember m;
    m.id = s_.id;
    m.host = s_.host;
    m.pid = ::getpid();
    m.running = static_cast<int>(r.agents.size());
    m.share = r.share;
    m.agents = r.agents;
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

  // Says once per kind of failure that etcd cannot be used; the agents keep running.
  void trouble(const Status& s) {
    const bool unreachable = s.code() == ErrorCode::kUnavailable || s.code() == ErrorCode::kTimeout;
    const ErrorCode kind = unreachable ? ErrorCode::kUnavailable : s.code();
    if (trouble_ == kind) return;
    trouble_ = kind;
    reporter_.trouble(s, unreachable, supervisor_->agents().size());
  }

  void recovered() {
    if (trouble_ == ErrorCode::kOk) return;
    trouble_ = ErrorCode::kOk;
    reporter_.recovered();
  }

  // Wakes the loop on every change under P/pool/ but the pool's own record, until `stop`.
  void watch(const std::stop_token& stop) {
    const std::string prefix = pool_.pool_prefix();
    const std::string own_key = pool_.member_key(s_.id);
    const auto on_events = [&](const std::vector<etcd::WatchEvent>& events) {
      const bool other = std::any_of(events.begin(), events.end(), [&](const etcd::WatchEvent& e) {
        return e.kv.key != own_key;
      });
      if (other) {
        const std::lock_guard lock(mu_);
        woken_ = true;
        cv_.notify_all();
      }
      return !stop.stop_requested();
    };
    while (!stop.stop_requested()) {
      Status s = client_.watch(prefix, etcd::prefix_end(prefix), 0, on_events,
                               milliseconds(kWatchTimeout), stop);
      if (s.ok()) continue;
      std::unique_lock lock(mu_);  // the loop's periodic tick covers the gap
      cv_.wait_for(lock, stop, kWatchRetry, [] { return false; });
    }
  }

  const PoolRunnerConfig s_;
  PoolReporter& reporter_;
  etcd::Client client_;
  store::EtcdPool pool_;
  store::PoolLease lease_;
  std::unique_ptr<actuate::ProcessActuator> supervisor_;
  std::optional<store::PoolMember> announced_;   // the record as last written under the lease
  std::optional<std::pair<int, int>> reported_;  // share and running as last reported
  ErrorCode trouble_ = ErrorCode::kOk;           // the failure last reported
  std::string scale_error_;
  std::mutex mu_;
  std::condition_variable_any cv_;
  bool woken_ = false;  // guarded by mu_
};

Result<std::unique_ptr<PoolRunner>> PoolRunner::create(PoolRunnerConfig config,
                                                       PoolReporter& reporter, const Clock& clock) {
  std::error_code ec;
  std::filesystem::create_directories(config.state_dir, ec);
  if (ec) {
    return Status(ErrorCode::kIo,
                  "cannot create " + config.state_dir.string() + ": " + ec.message());
  }
  actuate::SupervisorConfig c;
  c.agent_command = config.agent_command;
  c.coordination_dir = config.state_dir.string();
  c.state_file = config.state_dir / "supervisor.json";
  c.grace = config.grace;
  c.replace_dead = config.replace_dead;
  c.id_prefix = config.id;
  auto supervisor = actuate::ProcessActuator::create(std::move(c), clock);
  if (!supervisor.ok()) return supervisor.status();
  return std::unique_ptr<PoolRunner>(new PoolRunner(
      std::make_unique<Impl>(std::move(config), reporter, clock, std::move(supervisor).value())));
}

PoolRunner::PoolRunner(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PoolRunner::~PoolRunner() = default;

void PoolRunner::run(const std::stop_token& stop) { impl_->run(stop); }

}  // namespace dslmodel::pool

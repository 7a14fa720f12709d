// High availability end to end: several `dsl auto loop --leader-election` replicas on one
// directory (lock file) or one etcd (lease), real processes killed, paused and cut off from
// etcd. The journal, read back through `dsl auto history`, must show every decision executed at
// most once, and only by the replica that held the epoch it carries.
//
// Each replica's repairs are driven by orphaned claims the test keeps writing (work claimed by an
// agent that does not exist): every leader cycle requeues them with coordination_improve.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "dslmodel/time.h"
#include "etcd/client.h"
#include "etcd_server.h"
#include "integration/dsl_runner.h"

namespace dslmodel::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

constexpr double kInterval = 0.2;  // seconds between cycles
constexpr int kLeaseTtl = 2;       // etcd lease, seconds

std::string orphan_json(const std::string& id) {
  const auto now = std::chrono::system_clock::now();
  return R"({"id":")" + id + R"(","status":"claimed","priority":0,"created":")" +
         format_iso8601(now - 1h) + R"(","claimed_by":"ghost-)" + id + R"(","claimed_at":")" +
         format_iso8601(now - 1h) + R"(","lease_expires":")" + format_iso8601(now - 30min) +
         R"(","attempts":0,"max_attempts":50,"command":["true"]})";
}

// Where the replicas keep their state: a directory, or etcd under a prefix.
class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::vector<std::string> store_args() const = 0;
  virtual void add_orphan(const std::string& id) = 0;
};

class DirBackend final : public Backend {
 public:
  explicit DirBackend(const TempDir& dir) : dir_(dir) {}
  std::vector<std::string> store_args() const override { return {"-c", dir_.path().string()}; }
  void add_orphan(const std::string& id) override {
    const fs::path tmp = dir_ / (".tmp-" + id);
    write_file(tmp, orphan_json(id));
    fs::rename(tmp, dir_ / ("work_" + id + ".json"));
  }

 private:
  const TempDir& dir_;
};

class EtcdBackend final : public Backend {
 public:
  EtcdBackend(const EtcdServer& server, const TempDir& dir)
      : url_(server.store_url("ha")), dir_(dir), client_({server.endpoint()}) {}
  std::vector<std::string> store_args() const override {
    return {"--store", url_, "-c", dir_.path().string()};
  }
  void add_orphan(const std::string& id) override {
    (void)client_.put("/ha/work/" + id, orphan_json(id));
  }

 private:
  std::string url_;
  const TempDir& dir_;
  etcd::Client client_;
};

// One `dsl auto loop --leader-election` replica with its own id.
class Replica {
 public:
  Replica(const TempDir& dir, const Backend& backend, const std::string& id,
          const std::string& config = "[policy]\nagent_timeout = 3\n[actuator]\nkind = \"none\"\n")
      : id_(id) {
    const fs::path cfg = dir / ("replica-" + id + ".toml");
    write_file(cfg, "[engine]\nid = \"" + id + "\"\n" + config);
    std::vector<std::string> args = backend.store_args();
    for (const std::string& a :
         {std::string("--config"), cfg.string(), std::string("auto"), std::string("loop"),
          std::string("--leader-election"), std::string("--lease-ttl"), std::to_string(kLeaseTtl),
          std::string("--interval"), std::to_string(kInterval), std::string("--metrics-addr"),
          std::string("off")}) {
      args.push_back(a);
    }
    proc_ = std::make_unique<DslProcess>(args);
  }

  const std::string& id() const { return id_; }
  DslProcess& proc() { return *proc_; }
  bool alive() const { return !exited_ && ::kill(proc_->pid(), 0) == 0; }

  // The last leadership line the replica printed: the epoch it leads with, or nullopt.
  std::optional<std::int64_t> leading() const {
    static const std::regex kLine(R"((leader|follower): \S+ (leads \(epoch (\d+)\)|observes))");
    const std::string err = proc_->err();
    std::optional<std::int64_t> state;
    for (auto it = std::sregex_iterator(err.begin(), err.end(), kLine);
         it != std::sregex_iterator(); ++it) {
      state =
          (*it)[1] == "leader" ? std::optional<std::int64_t>(std::stoll((*it)[3])) : std::nullopt;
    }
    return state;
  }

  // Every epoch this replica said it led with.
  std::set<std::int64_t> epochs() const {
    static const std::regex kLead(R"(leader: \S+ leads \(epoch (\d+)\))");
    const std::string err = proc_->err();
    std::set<std::int64_t> out;
    for (auto it = std::sregex_iterator(err.begin(), err.end(), kLead);
         it != std::sregex_iterator(); ++it) {
      out.insert(std::stoll((*it)[1]));
    }
    return out;
  }

  void kill9() {
    proc_->signal(SIGKILL);
    proc_->wait();
    exited_ = true;
  }
  int stop() {
    if (exited_) return 0;
    proc_->signal(SIGCONT);
    proc_->signal(SIGTERM);
    exited_ = true;
    return proc_->wait();
  }

 private:
  std::string id_;
  std::unique_ptr<DslProcess> proc_;
  bool exited_ = false;
};

using Replicas = std::vector<std::unique_ptr<Replica>>;

// The replicas that currently say they lead.
std::vector<Replica*> leaders(const Replicas& rs) {
  std::vector<Replica*> out;
  for (const auto& r : rs) {
    if (r->alive() && r->leading()) out.push_back(r.get());
  }
  return out;
}

// Waits until exactly one live replica leads; returns it (nullptr on timeout).
Replica* wait_for_one_leader(const Replicas& rs, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    auto ls = leaders(rs);
    if (ls.size() == 1) return ls.front();
    std::this_thread::sleep_for(20ms);
  }
  return nullptr;
}

// Feeds orphaned claims for `d`, checking every sample that at most one replica leads.
void feed(Backend& b, const Replicas& rs, std::chrono::milliseconds d, int& next_id) {
  const auto end = Clock::now() + d;
  while (Clock::now() < end) {
    b.add_orphan("o" + std::to_string(next_id++));
    EXPECT_LE(leaders(rs).size(), 1u) << "two replicas lead at once";
    std::this_thread::sleep_for(100ms);
  }
}

// Every journal record, through `dsl --json auto history --all`.
nlohmann::json journal(const Backend& b) {
  std::vector<std::string> args = b.store_args();
  for (const char* a : {"--json", "auto", "history", "--all", "--limit", "1000000"}) {
    args.emplace_back(a);
  }
  DslRun r = run_dsl(args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.json();
}

struct JournalCheck {
  int executed = 0;
  std::map<std::string, int> executed_by;  // replica → executed decisions
};

// Reads the journal and checks the HA invariants: no decision executed twice, every executed
// decision by the replica that led with its epoch, epochs never going back in journal order.
JournalCheck check_journal(const Backend& b, const Replicas& rs) {
  const nlohmann::json j = journal(b);
  std::map<std::int64_t, std::string> holder;  // epoch → replica
  for (const auto& rep : rs) {
    for (std::int64_t e : rep->epochs()) {
      EXPECT_FALSE(holder.contains(e)) << "epoch " << e << " led by two replicas";
      holder[e] = rep->id();
    }
  }
  JournalCheck out;
  std::set<std::string> executed_ids;
  std::int64_t last_epoch = 0;
  for (const auto& e : j["data"]["entries"]) {
    const std::string outcome = e.value("outcome", "");
    const std::int64_t epoch = e.value("epoch", std::int64_t{0});
    const std::string replica = e.value("replica", "");
    EXPECT_GT(epoch, 0) << e.dump();
    EXPECT_GE(epoch, last_epoch) << "an older epoch wrote after a newer one: " << e.dump();
    last_epoch = std::max(last_epoch, epoch);
    EXPECT_EQ(holder[epoch], replica)
        << "written by a replica that did not hold its epoch: " << e.dump();
    if (outcome == "executed") {
      ++out.executed;
      ++out.executed_by[replica];
      EXPECT_TRUE(executed_ids.insert(e.value("decision_id", "")).second)
          << "executed twice: " << e.dump();
    }
  }
  return out;
}

Replicas start(const TempDir& dir, const Backend& b, int n, const std::string& config = "") {
  Replicas rs;
  for (int i = 1; i <= n; ++i) {
    const std::string id = "r" + std::to_string(i);
    rs.push_back(config.empty() ? std::make_unique<Replica>(dir, b, id)
                                : std::make_unique<Replica>(dir, b, id, config));
  }
  return rs;
}

void stop_all(Replicas& rs) {
  for (auto& r : rs) EXPECT_EQ(r->stop(), 0) << r->id() << ": " << r->proc().err();
}

// kill -9 of the leader: another replica leads within the lease TTL and one interval (plus the
// slack a loaded 2-core machine needs), and the journal stays clean.
void kill_the_leader(Backend& b, Replicas& rs, std::chrono::milliseconds takeover_bound) {
  int next_id = 0;
  Replica* first = wait_for_one_leader(rs, 30s);
  ASSERT_NE(first, nullptr);
  feed(b, rs, 2s, next_id);
  first->kill9();
  const auto killed = Clock::now();
  Replica* second = wait_for_one_leader(rs, 60s);
  ASSERT_NE(second, nullptr);
  const auto takeover = Clock::now() - killed;
  EXPECT_NE(second, first);
  EXPECT_LT(takeover, takeover_bound)
      << "took " << std::chrono::duration_cast<std::chrono::milliseconds>(takeover).count()
      << " ms";
  std::printf("takeover after kill -9: %lld ms\n",
              static_cast<long long>(
                  std::chrono::duration_cast<std::chrono::milliseconds>(takeover).count()));
  feed(b, rs, 2s, next_id);
  stop_all(rs);
  JournalCheck c = check_journal(b, rs);
  EXPECT_GT(c.executed_by[first->id()], 0);
  EXPECT_GT(c.executed_by[second->id()], 0);
}

TEST(HighAvailability, TwoReplicasOnOneDirectoryFailOverOnKill) {
  TempDir dir;
  DirBackend b(dir);
  Replicas rs = start(dir, b, 2);
  // The lock is released by the kernel at once: the bound is one interval plus slack.
  kill_the_leader(b, rs, std::chrono::milliseconds(static_cast<int>(kInterval * 1000)) + 5s);
}

TEST(HighAvailability, ThreeReplicasOnOneEtcdFailOverOnKill) {
  auto etcd = EtcdServer::start();
  ASSERT_TRUE(etcd);
  TempDir dir;
  EtcdBackend b(*etcd, dir);
  Replicas rs = start(dir, b, 3);
  kill_the_leader(b, rs,
                  std::chrono::seconds(kLeaseTtl) +
                      std::chrono::milliseconds(static_cast<int>(kInterval * 1000)) + 5s);
}

// A leader paused past its lease (SIGSTOP), replaced, then resumed: it executes nothing more.
TEST(HighAvailability, PausedLeaderNeverActsAfterItsLeaseRanOut) {
  auto etcd = EtcdServer::start();
  ASSERT_TRUE(etcd);
  TempDir dir;
  EtcdBackend b(*etcd, dir);
  Replicas rs = start(dir, b, 2);
  int next_id = 0;
  Replica* old = wait_for_one_leader(rs, 30s);
  ASSERT_NE(old, nullptr);
  const std::int64_t old_epoch = *old->leading();
  feed(b, rs, 1s, next_id);
  old->proc().signal(SIGSTOP);
  Replica* other = nullptr;
  const auto deadline = Clock::now() + 60s;
  while (other == nullptr && Clock::now() < deadline) {
    for (const auto& r : rs) {
      if (r.get() != old && r->leading()) other = r.get();
    }
    b.add_orphan("o" + std::to_string(next_id++));
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_NE(other, nullptr) << "nobody took over from the paused leader";
  EXPECT_GT(*other->leading(), old_epoch);
  old->proc().signal(SIGCONT);
  feed(b, rs, 3s, next_id);
  // Back from its pause, the old leader knows it is a follower.
  EXPECT_FALSE(old->leading().has_value()) << old->proc().err();
  stop_all(rs);
  check_journal(b, rs);  // no entry by the old replica after the new epoch began
}

// etcd away for 30 s: nobody leads or acts, nobody crashes; etcd back: one leads again.
TEST(HighAvailability, EtcdOutageStopsEveryoneAndRecovers) {
  auto etcd = EtcdServer::start();
  ASSERT_TRUE(etcd);
  TempDir dir;
  EtcdBackend b(*etcd, dir);
  Replicas rs = start(dir, b, 3);
  int next_id = 0;
  ASSERT_NE(wait_for_one_leader(rs, 30s), nullptr);
  feed(b, rs, 1s, next_id);
  etcd->stop();
  const auto outage_start = std::chrono::system_clock::now();
  const auto until = Clock::now() + 30s;
  bool all_followers_seen = false;
  while (Clock::now() < until) {
    const auto in_outage = Clock::now() - (until - 30s);
    if (in_outage > std::chrono::seconds(kLeaseTtl) + 3s) {
      EXPECT_TRUE(leaders(rs).empty()) << "a replica leads without etcd";
      all_followers_seen = true;
    }
    for (const auto& r : rs) ASSERT_TRUE(r->alive()) << r->id() << " died: " << r->proc().err();
    std::this_thread::sleep_for(200ms);
  }
  EXPECT_TRUE(all_followers_seen);
  const auto outage_end = std::chrono::system_clock::now();
  ASSERT_TRUE(etcd->resume());
  ASSERT_NE(wait_for_one_leader(rs, 60s), nullptr) << "nobody leads after etcd came back";
  feed(b, rs, 2s, next_id);
  stop_all(rs);
  check_journal(b, rs);
  // Nothing was journaled (so nothing executed) while etcd was away.
  const nlohmann::json j = journal(b);
  for (const auto& e : j["data"]["entries"]) {
    auto at = parse_iso8601(e.value("at", ""));
    ASSERT_TRUE(at);
    EXPECT_FALSE(*at > outage_start + 1s && *at < outage_end) << e.dump();
  }
}

// A leader killed in the middle of a scale-up: the new leader reads the shared journal, closes the
// interrupted intent, and keeps its cooldown, so the scaling is neither repeated nor reversed.
// (The seed's step sizing, whose every scaling starts a cooldown that the new leader must honour.)
TEST(HighAvailability, NewLeaderKeepsTheCooldownOfAnInterruptedScaling) {
  auto etcd = EtcdServer::start();
  ASSERT_TRUE(etcd);
  TempDir dir;
  EtcdBackend b(*etcd, dir);
  const fs::path pids = dir / "scale.pids";
  // The scale hook records its pid and takes 30 s: the leader is killed while it runs.
  const std::string config =
      "[policy]\nsizing = \"steps\"\ncooldown = 600\nscale_down_delay = 600\n"
      "[actuator]\nkind = \"command\"\ntimeout = 60\n"
      "scale_command = [\"sh\", \"-c\", \"echo $$ >> " +
      pids.string() + "; exec sleep 30\"]\n";
  etcd::Client client({etcd->endpoint()});
  for (int i = 0; i < 3; ++i) {
    const std::string id = "w" + std::to_string(i);
    ASSERT_TRUE(client
                    .put("/ha/work/" + id,
                         R"({"id":")" + id + R"(","status":"pending","command":["true"]})")
                    .ok());
  }
  Replicas rs = start(dir, b, 2, config);
  Replica* first = wait_for_one_leader(rs, 30s);
  ASSERT_NE(first, nullptr);
  const auto deadline = Clock::now() + 30s;
  while (slurp(pids).empty() && Clock::now() < deadline) std::this_thread::sleep_for(20ms);
  ASSERT_FALSE(slurp(pids).empty()) << "the leader never scaled: " << first->proc().err();
  first->kill9();
  Replica* second = wait_for_one_leader(rs, 60s);
  ASSERT_NE(second, nullptr);
  std::this_thread::sleep_for(3s);  // many cycles of the new leader
  stop_all(rs);
  std::istringstream lines(slurp(pids));
  for (std::string pid; std::getline(lines, pid);) {
    if (!pid.empty()) ::kill(std::stoi(pid), SIGKILL);
  }

  const nlohmann::json j = journal(b);
  int scale_intents = 0;
  int interrupted = 0;
  int cooldown_skips = 0;
  for (const auto& e : j["data"]["entries"]) {
    if (e.value("type", "") != "scale_up") continue;
    const std::string outcome = e.value("outcome", "");
    if (outcome == "intent") ++scale_intents;
    if (outcome == "failed" && e.value("replica", "") == second->id() &&
        e.value("reason", "").starts_with("interrupted")) {
      ++interrupted;
    }
    if (outcome == "skipped" && e.value("replica", "") == second->id() &&
        e.value("reason", "") == "cooldown") {
      ++cooldown_skips;
    }
  }
  EXPECT_EQ(scale_intents, 1) << j.dump(1);
  EXPECT_EQ(interrupted, 1);
  EXPECT_GT(cooldown_skips, 0);
}

}  // namespace
}  // namespace dslmodel::testing

// High availability and etcd, measured:
//   1. claim throughput on etcd: real `dsl agent run` processes on no-op items (["true"]) with
//      1, 4 and 16 agents on the etcd store, against the same agents on the coordination
//      directory in the same run (the reference);
//   2. failover: replicas of `dsl auto loop --leader-election` on etcd and on one directory;
//      the leader is killed with SIGKILL and the time until the first journaled action of the
//      new leader is measured, against the bound the design promises (lease TTL + one interval).
//
//   dsl_ha_bench [--items 1000] [--agents 1,4,16] [--rounds 3] [--ttl 2] [--interval 0.5]
// Starts its own etcd on 127.0.0.1 (Debian package etcd-server) and stops everything it started.
#include <fmt/format.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "dslmodel/time.h"
#include "etcd/client.h"
#include "etcd_server.h"
#include "integration/dsl_runner.h"

namespace {

using namespace std::chrono_literals;
using dslmodel::testing::DslProcess;
using dslmodel::testing::EtcdServer;
using dslmodel::testing::TempDir;
using dslmodel::testing::write_file;
using SteadyClock = std::chrono::steady_clock;
namespace fs = std::filesystem;

double seconds_since(SteadyClock::time_point t0) {
  return std::chrono::duration<double>(SteadyClock::now() - t0).count();
}

std::string item_json(const std::string& id) {
  return R"({"id":")" + id +
         R"(","status":"pending","priority":0,"created":"2026-01-01T00:00:00Z","attempts":0,)"
         R"("max_attempts":3,"command":["true"]})";
}

std::string orphan_json(const std::string& id) {
  const auto now = std::chrono::system_clock::now();
  return R"({"id":")" + id + R"(","status":"claimed","created":")" +
         dslmodel::format_iso8601(now - 1h) + R"(","claimed_by":"ghost","claimed_at":")" +
         dslmodel::format_iso8601(now - 1h) + R"(","lease_expires":")" +
         dslmodel::format_iso8601(now - 30min) +
         R"(","attempts":0,"max_attempts":50,"command":["true"]})";
}

// Runs `agents` agents until the queue is empty; returns items per second.
double drain(const std::vector<std::string>& store_args, int items, int agents,
             const std::function<int()>& completed) {
  const auto t0 = SteadyClock::now();
  std::vector<std::unique_ptr<DslProcess>> procs;
  for (int a = 0; a < agents; ++a) {
    std::vector<std::string> args = store_args;
    for (const std::string& s :
         {std::string("agent"), std::string("run"), std::string("--id"), fmt::format("bench-{}", a),
          std::string("--exit-when-idle"), std::string("--poll-ms"), std::string("20")}) {
      args.push_back(s);
    }
    procs.push_back(std::make_unique<DslProcess>(args));
  }
  for (auto& p : procs) p->wait();
  const double s = seconds_since(t0);
  const int done = completed();
  if (done != items) {
    fmt::print(stderr, "{} agents completed {} of {} items\n", agents, done, items);
    std::exit(1);
  }
  return items / s;
}

void claim_throughput(const EtcdServer& etcd, int items, const std::vector<int>& counts) {
  fmt::print("{:>7}  {:>14}  {:>18}  {:>8}\n", "agents", "etcd items/s", "directory items/s",
             "ratio");
  int round = 0;
  for (int n : counts) {
    ++round;
    // etcd
    const std::string prefix = fmt::format("/bench{}", round);
    dslmodel::etcd::Client client({etcd.endpoint()});
    for (int i = 0; i < items; ++i) {
      const std::string id = fmt::format("n{}", i);
      (void)client.put(prefix + "/work/" + id, item_json(id));
    }
    const double on_etcd = drain({"--store", etcd.store_url(prefix.substr(1))}, items, n, [&] {
      auto r = client.range(
          prefix + "/completed/",
          {.range_end = dslmodel::etcd::prefix_end(prefix + "/completed/"), .count_only = true});
      return r.ok() ? static_cast<int>(r->count) : -1;
    });
    // the directory, in the same run
    TempDir dir;
    for (int i = 0; i < items; ++i) {
      const std::string id = fmt::format("n{}", i);
      write_file(dir / ("work_" + id + ".json"), item_json(id));
    }
    const double on_dir = drain({"-c", dir.path().string()}, items, n, [&] {
      int c = 0;
      for (const auto& e : fs::directory_iterator(dir.path())) {
        if (e.path().filename().string().starts_with("completed_")) ++c;
      }
      return c;
    });
    fmt::print("{:>7}  {:>14.0f}  {:>18.0f}  {:>7.2f}x\n", n, on_etcd, on_dir, on_etcd / on_dir);
  }
}

// The newest journal record's (replica, outcome) written after `after_seq`, on etcd.
struct Action {
  std::string replica;
  std::int64_t seq = 0;
};

// Seconds from SIGKILL of the leader to the new leader's first executed decision.
double failover_once(const std::vector<std::string>& store_args,
                     const std::function<void(const std::string&)>& add_orphan,
                     const std::function<std::vector<Action>()>& executed, const TempDir& dir,
                     int ttl, double interval) {
  std::vector<std::unique_ptr<DslProcess>> replicas;
  for (int r = 1; r <= 2; ++r) {
    const fs::path cfg = dir / fmt::format("r{}.toml", r);
    write_file(cfg, fmt::format("[engine]\nid = \"r{}\"\n[actuator]\nkind = \"none\"\n", r));
    std::vector<std::string> args = store_args;
    for (const std::string& s :
         {std::string("--config"), cfg.string(), std::string("auto"), std::string("loop"),
          std::string("--leader-election"), std::string("--lease-ttl"), std::to_string(ttl),
          std::string("--interval"), fmt::format("{}", interval), std::string("--metrics-addr"),
          std::string("off")}) {
      args.push_back(s);
    }
    replicas.push_back(std::make_unique<DslProcess>(args));
  }
  int next = 0;
  // Wait for a first action: its replica is the leader.
  std::string leader;
  const auto deadline = SteadyClock::now() + 60s;
  while (leader.empty() && SteadyClock::now() < deadline) {
    add_orphan(fmt::format("o{}", next++));
    auto acts = executed();
    if (!acts.empty()) leader = acts.back().replica;
    std::this_thread::sleep_for(50ms);
  }
  if (leader.empty()) {
    fmt::print(stderr, "no leader acted\n");
    std::exit(1);
  }
  std::int64_t last_seq = executed().back().seq;
  const int victim = leader == "r1" ? 0 : 1;
  replicas[victim]->signal(SIGKILL);
  replicas[victim]->wait();
  const auto killed = SteadyClock::now();
  double took = -1;
  while (took < 0 && SteadyClock::now() < killed + 120s) {
    add_orphan(fmt::format("o{}", next++));
    for (const Action& a : executed()) {
      if (a.seq > last_seq && a.replica != leader) took = seconds_since(killed);
    }
    std::this_thread::sleep_for(20ms);
  }
  replicas[1 - victim]->signal(SIGTERM);
  replicas[1 - victim]->wait();
  return took;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

std::vector<Action> executed_in(const nlohmann::json& entries) {
  std::vector<Action> out;
  for (const auto& e : entries) {
    if (e.value("outcome", "") == "executed") {
      out.push_back({e.value("replica", ""), e.value("seq", std::int64_t{0})});
    }
  }
  return out;
}

void failover(const EtcdServer& etcd, int rounds, int ttl, double interval) {
  std::vector<double> on_etcd;
  std::vector<double> on_dir;
  for (int r = 0; r < rounds; ++r) {
    TempDir dir;
    const std::string prefix = fmt::format("/failover{}", r);
    dslmodel::etcd::Client client({etcd.endpoint()});
    on_etcd.push_back(failover_once(
        {"--store", etcd.store_url(prefix.substr(1)), "-c", dir.path().string()},
        [&](const std::string& id) { (void)client.put(prefix + "/work/" + id, orphan_json(id)); },
        [&] {
          std::vector<Action> out;
          auto got = client.range(prefix + "/journal/",
                                  {.range_end = dslmodel::etcd::prefix_end(prefix + "/journal/")});
          if (!got.ok()) return out;
          nlohmann::json entries = nlohmann::json::array();
          for (const auto& kv : got->kvs) {
            entries.push_back(nlohmann::json::parse(kv.value, nullptr, false));
          }
          return executed_in(entries);
        },
        dir, ttl, interval));
    TempDir d2;
    on_dir.push_back(failover_once(
        {"-c", d2.path().string()},
        [&](const std::string& id) {
          write_file(d2 / (".t" + id), orphan_json(id));
          fs::rename(d2 / (".t" + id), d2 / ("work_" + id + ".json"));
        },
        [&] {
          std::vector<Action> out;
          std::ifstream in(d2 / ".dsl" / "journal.jsonl");
          nlohmann::json entries = nlohmann::json::array();
          for (std::string line; std::getline(in, line);) {
            entries.push_back(nlohmann::json::parse(line, nullptr, false));
          }
          return executed_in(entries);
        },
        d2, ttl, interval));
  }
  const double bound = ttl + interval;
  fmt::print(
      "etcd lease {} s, interval {} s: kill -9 of the leader to the new leader's first "
      "action: median {:.2f} s over {} rounds ({:.2f}x the bound TTL + interval = {:.1f} "
      "s)\n",
      ttl, interval, median(on_etcd), rounds, median(on_etcd) / bound, bound);
  fmt::print("lock file, interval {} s: median {:.2f} s ({:.2f}x one interval)\n", interval,
             median(on_dir), median(on_dir) / interval);
}

}  // namespace

int main(int argc, char** argv) {
  int items = 1000;
  int rounds = 3;
  int ttl = 2;
  double interval = 0.5;
  std::vector<int> counts = {1, 4, 16};
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--items") items = std::atoi(argv[i + 1]);
    if (a == "--rounds") rounds = std::atoi(argv[i + 1]);
    if (a == "--ttl") ttl = std::atoi(argv[i + 1]);
    if (a == "--interval") interval = std::atof(argv[i + 1]);
    if (a == "--agents") {
      counts.clear();
      const std::string s = argv[i + 1];
      for (std::size_t p = 0; p < s.size();) {
        const std::size_t q = s.find(',', p);
        counts.push_back(std::atoi(s.substr(p, q - p).c_str()));
        p = q == std::string::npos ? s.size() : q + 1;
      }
    }
  }
  auto etcd = EtcdServer::start();
  if (!etcd) {
    fmt::print(stderr, "etcd did not start (install etcd-server)\n");
    return 1;
  }
  fmt::print("== claim throughput on etcd, {} no-op items, vs the directory\n", items);
  claim_throughput(*etcd, items, counts);
  if (rounds > 0) {
    fmt::print("\n== failover\n");
    failover(*etcd, rounds, ttl, interval);
  }
  return 0;
}

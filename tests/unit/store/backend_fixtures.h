// Per-backend fixtures for the interface suites (store_suite_test.cc, work_queue_suite_test.cc).
//
// A fixture owns one empty location (a temp directory, or a fresh prefix on an etcd started once
// per test binary) and opens the backend's CoordinationStore and WorkQueue on it, on a fixed
// clock. It reads, seeds and removes raw records by their file name ("work_7.json",
// "archive/retried/completed_3.json"), so a case can prepare a state the interfaces cannot
// write. A new backend is one more fixture class here, added to the type list of each suite
// (docs/testing.md, "Interface suites").
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "dslmodel/snapshot.h"
#include "dslmodel/store.h"
#include "dslmodel/time.h"
#include "dslmodel/work_queue.h"
#include "etcd/client.h"
#include "etcd_server.h"
#include "platform/files.h"
#include "store/dir_store.h"
#include "store/dir_work_queue.h"
#include "store/etcd_keys.h"
#include "store/etcd_store.h"
#include "store/etcd_work_queue.h"
#include "unit/store/store_fixture.h"

namespace dslmodel::store::suite {

// Everything a snapshot says but its source and warnings, as JSON: two snapshots that read the
// same records compare equal.
inline nlohmann::json snapshot_summary(const Snapshot& s) {
  using nlohmann::json;
  const auto t = [](const std::optional<TimePoint>& tp) {
    return tp ? format_iso8601(*tp) : std::string("-");
  };
  json j = {{"agents", json::array()},    {"work", json::array()},     {"completed", json::array()},
            {"telemetry", json::array()}, {"rejected", json::array()}, {"partial", s.partial}};
  for (const AgentRecord& a : s.agents) {
    j["agents"].push_back({a.id, a.file, a.status, t(a.heartbeat), a.heartbeat_invalid,
                           a.pid.value_or(-1), a.host, a.current_work});
  }
  for (const WorkRecord& w : s.work) {
    j["work"].push_back({w.id, w.file, w.status, w.priority, t(w.created), w.claimed_by,
                         t(w.claimed_at), t(w.lease_expires), w.attempts,
                         w.max_attempts.value_or(-1)});
  }
  for (const CompletedRecord& c : s.completed) {
    j["completed"].push_back({c.id, c.file, c.status, t(c.finished), c.retryable});
  }
  for (const TelemetryRecord& r : s.telemetry) {
    j["telemetry"].push_back({r.id, r.file, t(r.timestamp), r.count});
  }
  for (const RejectedFile& r : s.rejected) j["rejected"].push_back({r.name, r.reason});
  j["archived"] = {s.archived.succeeded, s.archived.failed, s.archived.telemetry};
  return j;
}

class DirBackend {
 public:
  static constexpr const char* kName = "Dir";

  DirBackend() {
    std::string tmpl = (fs::temp_directory_path() / "dsl-suite-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) != nullptr) dir_ = tmpl;
  }
  ~DirBackend() {
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }
  DirBackend(const DirBackend&) = delete;
  DirBackend& operator=(const DirBackend&) = delete;

  // Empty when the backend is unavailable; the suite skips then.
  std::string unavailable() const { return dir_.empty() ? "no temp directory" : ""; }

  std::unique_ptr<CoordinationStore> store(const StoreConfig& cfg = {}) {
    return std::make_unique<DirStore>(dir_, cfg, &clock_);
  }
  // A queue whose claims follow priority then age exactly; with `candidate_max_age`, it re-reads
  // its claim candidates once they are older than that.
  std::unique_ptr<WorkQueue> queue(
      std::optional<std::chrono::milliseconds> candidate_max_age = {}) {
    auto q = std::make_unique<DirWorkQueue>(dir_, StoreConfig{}, &clock_);
    if (candidate_max_age) q->set_candidate_max_age(*candidate_max_age);
    return q;
  }
  // What describe() and Snapshot::source say.
  std::string source() const { return dir_.string(); }
  Result<Snapshot> snapshot() { return store()->snapshot(); }

  void seed(const std::string& file, const std::string& text) {
    std::error_code ec;
    fs::create_directories((dir_ / file).parent_path(), ec);
    std::ofstream(dir_ / file, std::ios::binary) << text;
  }
  std::optional<std::string> raw(const std::string& file) const {
    Result<std::string> text = platform::read_file_limited(dir_ / file, 1 << 20);
    return text.ok() ? std::optional<std::string>(*text) : std::nullopt;
  }
  void remove(const std::string& file) { EXPECT_TRUE(fs::remove(dir_ / file)) << file; }

  const Clock& clock() const { return clock_; }

 private:
  fs::path dir_;
  FakeClock clock_;
};

class EtcdBackend {
 public:
  static constexpr const char* kName = "Etcd";

  EtcdBackend() {
    static std::atomic<int> next{0};
    prefix_ = "/suite-" + std::to_string(::getpid()) + "-" + std::to_string(next++);
    if (server() != nullptr) {
      client_ = std::make_shared<etcd::Client>(std::vector<std::string>{server()->endpoint()});
    }
  }

  std::string unavailable() const { return server() ? "" : "etcd did not start"; }

  std::unique_ptr<CoordinationStore> store(const StoreConfig& cfg = {}) {
    return std::make_unique<EtcdStore>(client_, prefix_, cfg, source(), &clock_);
  }
  // Claims spread over one candidate: the same order as the directory queue.
  std::unique_ptr<WorkQueue> queue(
      std::optional<std::chrono::milliseconds> candidate_max_age = {}) {
    auto q = std::make_unique<EtcdWorkQueue>(client_, prefix_, StoreConfig{}, &clock_);
    q->set_claim_spread(1);
    if (candidate_max_age) q->set_candidate_max_age(*candidate_max_age);
    return q;
  }
  std::string source() const { return "etcd://suite" + prefix_; }
  Result<Snapshot> snapshot() { return store()->snapshot(); }

  void seed(const std::string& file, const std::string& text) {
    EXPECT_TRUE(client_->put(key(file), text).ok()) << file;
  }
  std::optional<std::string> raw(const std::string& file) const {
    Result<etcd::RangeResult> r = client_->range(key(file));
    if (!r.ok() || r->kvs.empty()) return std::nullopt;
    return r->kvs[0].value;
  }
  void remove(const std::string& file) {
    Result<etcd::TxnResult> r = client_->txn({}, {etcd::TxnOp::del(key(file))});
    EXPECT_TRUE(r.ok()) << file;
  }

  const Clock& clock() const { return clock_; }

 private:
  // One etcd per test binary, stopped at exit.
  static testing::EtcdServer* server() {
    static std::unique_ptr<testing::EtcdServer> etcd = testing::EtcdServer::start();
    return etcd.get();
  }
  std::string key(const std::string& file) const {
    return key_for_file(prefix_, file).value_or("/bad");
  }

  std::string prefix_;
  std::shared_ptr<etcd::Client> client_;
  FakeClock clock_;
};

// Every backend, for TYPED_TEST_SUITE(Suite, Backends, BackendName).
using Backends = ::testing::Types<DirBackend, EtcdBackend>;

// Names each instantiation after its backend: "StoreSuite/Dir.…", "WorkQueueSuite/Etcd.…".
class BackendName {
 public:
  template <typename T>
  static std::string GetName(int) {
    return T::kName;
  }
};

}  // namespace dslmodel::store::suite

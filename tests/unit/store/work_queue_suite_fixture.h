// Per-backend fixtures for the WorkQueue interface suite (work_queue_suite_test.cc).
//
// A fixture owns one empty queue location (a temp directory, or a fresh prefix on an etcd started
// once per test binary), opens queues on it on a fixed clock, and reads, seeds and removes raw
// records by their file name ("work_7.json", "archive/done/work_7.json"), so a case can prepare a
// state the interface cannot write. snapshot() is what the backend's CoordinationStore reads of
// the same location. A new backend is one more fixture class here, added to the type list
// in work_queue_suite_test.cc.
#pragma once

#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

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

class DirWorkQueueFixture {
 public:
  static constexpr const char* kName = "DirWorkQueue";

  DirWorkQueueFixture() {
    std::string tmpl = (fs::temp_directory_path() / "dsl-queue-suite-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) != nullptr) dir_ = tmpl;
  }
  ~DirWorkQueueFixture() {
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }
  DirWorkQueueFixture(const DirWorkQueueFixture&) = delete;
  DirWorkQueueFixture& operator=(const DirWorkQueueFixture&) = delete;

  // Empty when the backend is unavailable; the suite skips then.
  std::string unavailable() const { return dir_.empty() ? "no temp directory" : ""; }

  // A queue whose claims follow priority then age exactly.
  std::unique_ptr<WorkQueue> queue() {
    return std::make_unique<DirWorkQueue>(dir_, StoreConfig{}, &clock_);
  }
  // The same, re-reading its claim candidates once they are older than `candidate_max_age`.
  std::unique_ptr<WorkQueue> queue(std::chrono::milliseconds candidate_max_age) {
    auto q = std::make_unique<DirWorkQueue>(dir_, StoreConfig{}, &clock_);
    q->set_candidate_max_age(candidate_max_age);
    return q;
  }
  void seed(const std::string& file, const std::string& text) {
    std::ofstream(dir_ / file, std::ios::binary) << text;
  }
  std::optional<std::string> raw(const std::string& file) const {
    Result<std::string> text = platform::read_file_limited(dir_ / file, 1 << 20);
    return text.ok() ? std::optional<std::string>(*text) : std::nullopt;
  }
  void remove(const std::string& file) { EXPECT_TRUE(fs::remove(dir_ / file)) << file; }
  Result<Snapshot> snapshot() { return DirStore(dir_, StoreConfig{}, &clock_).snapshot(); }

 private:
  fs::path dir_;
  FakeClock clock_;
};

class EtcdWorkQueueFixture {
 public:
  static constexpr const char* kName = "EtcdWorkQueue";

  EtcdWorkQueueFixture() {
    static std::atomic<int> next{0};
    prefix_ = "/queue-suite-" + std::to_string(::getpid()) + "-" + std::to_string(next++);
    if (server() != nullptr) {
      client_ = std::make_shared<etcd::Client>(std::vector<std::string>{server()->endpoint()});
    }
  }

  std::string unavailable() const { return server() ? "" : "etcd did not start"; }

  std::unique_ptr<WorkQueue> queue() {
    auto q = std::make_unique<EtcdWorkQueue>(client_, prefix_, StoreConfig{}, &clock_);
    q->set_claim_spread(1);
    return q;
  }
  std::unique_ptr<WorkQueue> queue(std::chrono::milliseconds candidate_max_age) {
    auto q = std::make_unique<EtcdWorkQueue>(client_, prefix_, StoreConfig{}, &clock_);
    q->set_claim_spread(1);
    q->set_candidate_max_age(candidate_max_age);
    return q;
  }
  void seed(const std::string& file, const std::string& text) {
    EXPECT_TRUE(client_->put(key_for_file(prefix_, file).value_or("/bad"), text).ok()) << file;
  }
  std::optional<std::string> raw(const std::string& file) const {
    Result<etcd::RangeResult> r = client_->range(key_for_file(prefix_, file).value_or("/bad"));
    if (!r.ok() || r->kvs.empty()) return std::nullopt;
    return r->kvs[0].value;
  }
  void remove(const std::string& file) {
    Result<etcd::TxnResult> r =
        client_->txn({}, {etcd::TxnOp::del(key_for_file(prefix_, file).value_or("/bad"))});
    EXPECT_TRUE(r.ok()) << file;
  }
  Result<Snapshot> snapshot() {
    return EtcdStore(client_, prefix_, StoreConfig{}, "", &clock_).snapshot();
  }

 private:
  // One etcd per test binary, stopped at exit.
  static testing::EtcdServer* server() {
    static std::unique_ptr<testing::EtcdServer> etcd = testing::EtcdServer::start();
    return etcd.get();
  }

  std::string prefix_;
  std::shared_ptr<etcd::Client> client_;
  FakeClock clock_;
};

}  // namespace dslmodel::store::suite

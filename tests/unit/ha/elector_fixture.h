// Per-backend fixtures for the LeaderElector interface suite (elector_suite_test.cc).
//
// A fixture owns one empty election (a temp directory, or a fresh prefix on an etcd started once
// per test binary) and starts any number of electors campaigning in it. A new backend is one more
// fixture class here, added to the type list in elector_suite_test.cc.
#pragma once

#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "dslmodel/leader.h"
#include "etcd/client.h"
#include "etcd_server.h"
#include "ha/etcd_elector.h"
#include "ha/lock_file_elector.h"

namespace dslmodel::ha::suite {

class LockFileElectorFixture {
 public:
  static constexpr const char* kName = "LockFileElector";

  LockFileElectorFixture() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "dsl-ha-suite-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) != nullptr) root_ = tmpl;
  }
  ~LockFileElectorFixture() {
    std::error_code ec;
    if (!root_.empty()) std::filesystem::remove_all(root_, ec);
  }
  LockFileElectorFixture(const LockFileElectorFixture&) = delete;
  LockFileElectorFixture& operator=(const LockFileElectorFixture&) = delete;

  // Empty when the backend is unavailable; the suite skips then.
  std::string unavailable() const { return root_.empty() ? "no temp directory" : ""; }

  std::unique_ptr<LeaderElector> start(const std::string& id) const {
    return std::make_unique<LockFileElector>(root_ / ".dsl", id, std::chrono::milliseconds(20));
  }

 private:
  std::filesystem::path root_;
};

class EtcdElectorFixture {
 public:
  static constexpr const char* kName = "EtcdElector";

  EtcdElectorFixture() {
    static std::atomic<int> next{0};
    prefix_ = "/dsl-elector-suite-" + std::to_string(next++);
  }

  std::string unavailable() const { return server() ? "" : "etcd did not start"; }

  // A lease longer than any hand-over the suite waits for: a takeover can only come from the
  // leader giving up.
  std::unique_ptr<LeaderElector> start(const std::string& id) const {
    etcd::Options options;
    options.request_timeout = std::chrono::milliseconds(2000);
    options.connect_timeout = std::chrono::milliseconds(500);
    auto client =
        std::make_shared<etcd::Client>(std::vector<std::string>{server()->endpoint()}, options);
    return std::make_unique<EtcdElector>(std::move(client), prefix_, id, std::chrono::seconds(30),
                                         std::chrono::milliseconds(50));
  }

 private:
  // One etcd per test binary, stopped at exit.
  static testing::EtcdServer* server() {
    static std::unique_ptr<testing::EtcdServer> etcd = testing::EtcdServer::start();
    return etcd.get();
  }

  std::string prefix_;
};

}  // namespace dslmodel::ha::suite

// EtcdWorkQueue against a real etcd: what only the etcd queue has (ids taken by any record, claim
// spreading, cached revisions) and wait_for_work (woken by another client's add, bounded by
// max_wait, interrupted by stop, and the default of WorkQueue). The WorkQueue contract itself is
// work_queue_suite_test.cc, run over every backend.
#include "store/etcd_work_queue.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <nlohmann/json.hpp>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "etcd/client.h"
#include "etcd_server.h"
#include "store/dir_work_queue.h"
#include "store/etcd_keys.h"
#include "unit/store/store_fixture.h"

namespace dslmodel::store {
namespace {

using json = nlohmann::json;
using ::testing::HasSubstr;
using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;

class EtcdWorkQueueTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = dslmodel::testing::EtcdServer::start(); }
  static void TearDownTestSuite() { server_.reset(); }

  void SetUp() override {
    ASSERT_TRUE(server_) << "etcd did not start";
    static std::atomic<int> n{0};
    prefix_ = fmt::format("/queue-test-{}-{}", ::getpid(), ++n);
    client_ = std::make_shared<etcd::Client>(std::vector<std::string>{server_->endpoint()});
  }

  // A queue on the fake clock; tests of the exact claim order set its claim spread to 1.
  EtcdWorkQueue queue() { return EtcdWorkQueue(client_, prefix_, {}, &clock_); }
  std::string add(EtcdWorkQueue& q, std::string id, std::int64_t priority = 0,
                  std::int64_t max_attempts = 3) {
    NewWork w;
    w.id = std::move(id);
    w.command = {"true"};
    w.priority = priority;
    w.max_attempts = max_attempts;
    Result<std::string> r = q.add(w);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? *r : "";
  }
  WorkItem claim(EtcdWorkQueue& q, const std::string& agent = "a1") {
    Result<std::optional<WorkItem>> r = q.claim_next(agent, 60s);
    EXPECT_TRUE(r.ok()) << r.status().message();
    EXPECT_TRUE(r.ok() && r->has_value());
    return r.ok() && r->has_value() ? **r : WorkItem{};
  }
  void put(const std::string& file, const std::string& text) {
    ASSERT_TRUE(client_->put(key_for_file(prefix_, file).value_or("/bad"), text).ok()) << file;
  }
  std::optional<std::string> get(const std::string& file) {
    Result<etcd::RangeResult> r = client_->range(key_for_file(prefix_, file).value_or("/bad"));
    EXPECT_TRUE(r.ok());
    if (!r.ok() || r->kvs.empty()) return std::nullopt;
    return r->kvs[0].value;
  }
  bool has(const std::string& file) { return get(file).has_value(); }
  json doc(const std::string& file) { return json::parse(get(file).value_or("null")); }

  static std::unique_ptr<dslmodel::testing::EtcdServer> server_;
  std::string prefix_;
  std::shared_ptr<etcd::Client> client_;
  FakeClock clock_;
};

std::unique_ptr<dslmodel::testing::EtcdServer> EtcdWorkQueueTest::server_;

TEST_F(EtcdWorkQueueTest, ClaimSpreadStaysAmongTheBestCandidates) {
  EtcdWorkQueue q = queue();
  for (int i = 0; i < 20; ++i) add(q, fmt::format("{:02}", i), 20 - i);
  q.set_claim_spread(4);
  for (int n = 0; n < 20; ++n) {
    WorkItem w = claim(q);
    // The n-th claim never takes an item more than 3 places behind the best one left.
    EXPECT_LT(std::stoi(w.id), n + 4) << n;
  }
  EXPECT_TRUE(q.list("pending")->empty());
}

TEST_F(EtcdWorkQueueTest, ClaimOfACachedItemChangedSinceStillWorks) {
  EtcdWorkQueue q = queue();
  q.set_claim_spread(1);
  EtcdWorkQueue other = queue();
  add(q, "1");
  add(q, "2");
  EXPECT_EQ(claim(q).id, "1");  // caches item 2 with its revision
  WorkItem taken = claim(other);
  EXPECT_EQ(taken.id, "2");
  ASSERT_TRUE(other.release(taken, "a1").ok());  // pending again, at a newer revision
  EXPECT_EQ(claim(q, "a2").id, "2");
  EXPECT_EQ(doc("work_2.json")["claimed_by"], "a2");
}

TEST_F(EtcdWorkQueueTest, WaitForWorkSeesAnAddMadeAfterTheLastRead) {
  EtcdWorkQueue q = queue();
  ASSERT_TRUE(q.list("").ok());  // the revision it waits from
  auto other_client = std::make_shared<etcd::Client>(std::vector<std::string>{server_->endpoint()});
  EtcdWorkQueue other(other_client, prefix_, {}, &clock_);
  add(other, "late");
  const auto start = Steady::now();
  q.wait_for_work(30s, {});
  EXPECT_LT(Steady::now() - start, 15s);
  EXPECT_EQ(claim(q).id, "late");
}

TEST_F(EtcdWorkQueueTest, WaitForWorkWakesOnAnAddFromAnotherClient) {
  EtcdWorkQueue q = queue();
  Result<std::optional<WorkItem>> none = q.claim_next("a1", 60s);
  ASSERT_TRUE(none.ok() && !none->has_value());
  std::atomic<bool> woke{false};
  const auto start = Steady::now();
  std::thread waiter([&] {
    q.wait_for_work(30s, {});
    woke = true;
  });
  // Claims by others are not work: only a pending item wakes the waiter.
  auto other_client = std::make_shared<etcd::Client>(std::vector<std::string>{server_->endpoint()});
  EtcdWorkQueue other(other_client, prefix_, {}, &clock_);
  put("work_busy.json", R"({"status":"claimed","claimed_by":"z"})");
  add(other, "new");
  waiter.join();
  EXPECT_TRUE(woke);
  EXPECT_LT(Steady::now() - start, 15s);
  EXPECT_EQ(claim(q).id, "new");
}

TEST_F(EtcdWorkQueueTest, WaitForWorkHonoursMaxWaitAndStop) {
  EtcdWorkQueue q = queue();
  ASSERT_TRUE(q.list("").ok());
  auto start = Steady::now();
  q.wait_for_work(300ms, {});
  EXPECT_GE(Steady::now() - start, 250ms);
  EXPECT_LT(Steady::now() - start, 15s);

  std::stop_source stop;
  start = Steady::now();
  std::thread waiter([&] { q.wait_for_work(60s, stop.get_token()); });
  stop.request_stop();
  waiter.join();
  EXPECT_LT(Steady::now() - start, 15s);
  start = Steady::now();
  q.wait_for_work(60s, stop.get_token());  // already stopped
  EXPECT_LT(Steady::now() - start, 5s);
}

TEST_F(EtcdWorkQueueTest, WaitForWorkFallsBackToWaitingWhenEtcdIsDown) {
  std::unique_ptr<dslmodel::testing::EtcdServer> own = dslmodel::testing::EtcdServer::start();
  ASSERT_TRUE(own);
  etcd::Options opt;
  opt.request_timeout = 2s;
  opt.connect_timeout = 500ms;
  auto client = std::make_shared<etcd::Client>(std::vector<std::string>{own->endpoint()}, opt);
  EtcdWorkQueue q(client, "/down", {}, &clock_);
  own->stop();
  EXPECT_EQ(q.claim_next("a1", 60s).status().code(), ErrorCode::kUnavailable);
  NewWork w;
  w.command = {"true"};
  EXPECT_EQ(q.add(w).status().code(), ErrorCode::kUnavailable);
  const auto start = Steady::now();
  q.wait_for_work(1s, {});
  EXPECT_GE(Steady::now() - start, 900ms);
  EXPECT_LT(Steady::now() - start, 15s);
  std::stop_source stop;
  std::thread waiter([&] { q.wait_for_work(60s, stop.get_token()); });
  stop.request_stop();
  waiter.join();
}

TEST(WorkQueueDefaultWaitTest, SleepsInterruptibly) {
  std::string tmpl = (fs::path(::testing::TempDir()) / "wait_XXXXXX").string();
  ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
  DirWorkQueue q{fs::path(tmpl)};
  auto start = Steady::now();
  q.wait_for_work(200ms, {});
  EXPECT_GE(Steady::now() - start, 190ms);
  std::stop_source stop;
  start = Steady::now();
  std::thread waiter([&] { q.wait_for_work(60s, stop.get_token()); });
  stop.request_stop();
  waiter.join();
  EXPECT_LT(Steady::now() - start, 15s);
  fs::remove_all(tmpl);
}

}  // namespace
}  // namespace dslmodel::store

#include "ha/etcd_elector.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "etcd/client.h"
#include "etcd_server.h"

namespace dslmodel::ha {
namespace {

using namespace std::chrono_literals;

constexpr auto kTtl = 2s;
constexpr auto kRetry = 50ms;

bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout = 20s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return pred();
}

class EtcdElectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    etcd_ = testing::EtcdServer::start();
    ASSERT_TRUE(etcd_);
    prefix_ =
        std::string("/dsl-") + ::testing::UnitTest::GetInstance()->current_test_info()->name();
  }
  void TearDown() override {
    electors_.clear();
    if (etcd_) etcd_->stop();
  }

  std::shared_ptr<etcd::Client> client() {
    etcd::Options options;
    options.request_timeout = 2000ms;
    options.connect_timeout = 500ms;
    return std::make_shared<etcd::Client>(std::vector<std::string>{etcd_->endpoint()}, options);
  }

  EtcdElector& add(const std::string& id, std::chrono::seconds ttl = kTtl) {
    electors_.push_back(std::make_unique<EtcdElector>(client(), prefix_, id, ttl, kRetry));
    return *electors_.back();
  }

  // The electors that report leader now.
  std::vector<EtcdElector*> leaders() {
    std::vector<EtcdElector*> out;
    for (auto& e : electors_) {
      if (e->current().is_leader) out.push_back(e.get());
    }
    return out;
  }

  EtcdElector* wait_for_one_leader(std::chrono::milliseconds timeout = 20s) {
    EtcdElector* leader = nullptr;
    eventually(
        [&] {
          auto l = leaders();
          leader = l.size() == 1 ? l[0] : nullptr;
          return leader != nullptr;
        },
        timeout);
    return leader;
  }

  // The leader key as etcd has it, or an empty KeyValue.
  etcd::KeyValue leader_kv() {
    auto r = client()->range(prefix_ + "/leader");
    if (!r.ok() || r->kvs.empty()) return {};
    return r->kvs[0];
  }

  std::unique_ptr<testing::EtcdServer> etcd_;
  std::string prefix_;
  std::vector<std::unique_ptr<EtcdElector>> electors_;
};

TEST_F(EtcdElectorTest, ExactlyOneOfThreeLeadsAtEveryMoment) {
  add("a");
  add("b");
  add("c");
  EtcdElector* leader = wait_for_one_leader();
  ASSERT_NE(leader, nullptr);
  const Leadership first = leader->current();
  EXPECT_EQ(first.holder, leader->id());
  EXPECT_EQ(first.detail, "");

  etcd::KeyValue kv = leader_kv();
  EXPECT_EQ(kv.create_revision, first.epoch);
  EXPECT_EQ(kv.lease, leader->lease_id());
  auto value = nlohmann::json::parse(kv.value, nullptr, false);
  ASSERT_TRUE(value.is_object()) << kv.value;
  EXPECT_EQ(value.value("id", ""), leader->id());
  EXPECT_EQ(value.value("pid", 0), ::getpid());
  EXPECT_FALSE(value.value("host", "").empty());
  EXPECT_FALSE(value.value("since", "").empty());

  // Over more than one TTL the same replica leads, alone, with the same epoch.
  const auto until = std::chrono::steady_clock::now() + kTtl * 2;
  int samples = 0;
  while (std::chrono::steady_clock::now() < until) {
    auto l = leaders();
    ASSERT_EQ(l.size(), 1u) << "sample " << samples;
    ASSERT_EQ(l[0], leader);
    ASSERT_EQ(l[0]->current().epoch, first.epoch);
    ++samples;
    std::this_thread::sleep_for(10ms);
  }
  for (auto& e : electors_) {
    if (e.get() == leader) continue;
    EXPECT_TRUE(eventually([&] { return e->current().holder == leader->id(); }));
    EXPECT_EQ(e->current().detail, "held by " + leader->id());
    EXPECT_EQ(e->confirm(first.epoch).code(), ErrorCode::kConflict);
  }
  EXPECT_TRUE(leader->confirm(first.epoch).ok());
  EXPECT_EQ(leader->confirm(first.epoch + 1).code(), ErrorCode::kConflict);
}

TEST_F(EtcdElectorTest, ResignHandsOverBeforeTheTtl) {
  // A long TTL: a takeover within a few seconds can only come from the revoked lease.
  constexpr auto kLongTtl = 30s;
  std::atomic<int> changes{0};
  EtcdElector& a = add("a", kLongTtl);
  a.on_change([&] { ++changes; });
  ASSERT_TRUE(eventually([&] { return a.current().is_leader; }));
  EXPECT_EQ(a.lease_ttl(), kLongTtl);
  EXPECT_TRUE(eventually([&] { return changes.load() == 1; }));
  const std::int64_t old_epoch = a.current().epoch;
  EtcdElector& b = add("b", kLongTtl);
  ASSERT_TRUE(eventually([&] { return b.current().holder == "a"; }));

  const auto resigned = std::chrono::steady_clock::now();
  a.resign();
  EXPECT_FALSE(a.current().is_leader);
  EXPECT_EQ(a.current().detail, "resigned");
  EXPECT_EQ(a.confirm(old_epoch).code(), ErrorCode::kConflict);
  ASSERT_TRUE(eventually([&] { return b.current().is_leader; }, 15s));
  EXPECT_LT(std::chrono::steady_clock::now() - resigned, kLongTtl / 2);
  EXPECT_GT(b.current().epoch, old_epoch);
  EXPECT_TRUE(b.confirm(b.current().epoch).ok());
  EXPECT_EQ(b.confirm(old_epoch).code(), ErrorCode::kConflict);
  a.resign();                    // idempotent
  EXPECT_EQ(changes.load(), 1);  // resign does not call back
}

TEST_F(EtcdElectorTest, LeaseRevokedBehindItsBackIsNoticed) {
  EtcdElector& a = add("a");
  ASSERT_TRUE(eventually([&] { return a.current().is_leader; }));
  add("b");
  add("c");
  const std::int64_t old_epoch = a.current().epoch;
  const std::int64_t old_lease = a.lease_id();
  ASSERT_TRUE(client()->lease_revoke(old_lease).ok());

  // Someone (perhaps a again, with a new lease) leads with a new epoch; a's old epoch is dead.
  ASSERT_TRUE(eventually([&] {
    auto l = leaders();
    return l.size() == 1 && l[0]->current().epoch > old_epoch;
  }));
  EXPECT_NE(a.current().epoch, old_epoch);
  EXPECT_EQ(a.confirm(old_epoch).code(), ErrorCode::kConflict);
  // a replaces its dead lease with a new one.
  EXPECT_TRUE(eventually([&] { return a.lease_id() != 0 && a.lease_id() != old_lease; }));
  etcd::KeyValue kv = leader_kv();
  EXPECT_GT(kv.create_revision, old_epoch);
  EXPECT_NE(kv.lease, old_lease);
}

TEST_F(EtcdElectorTest, LeaderKeyDeletedBehindItsBackIsNoticed) {
  std::atomic<int> changes{0};
  EtcdElector& a = add("a");
  a.on_change([&] { ++changes; });
  ASSERT_TRUE(eventually([&] { return a.current().is_leader; }));
  const std::int64_t old_epoch = a.current().epoch;
  auto deleted = client()->txn({}, {etcd::TxnOp::del(prefix_ + "/leader")});
  ASSERT_TRUE(deleted.ok()) << deleted.status().message();

  // The lease is alive, but the key is gone: the old epoch is over and a new one begins.
  EXPECT_EQ(a.confirm(old_epoch).code(), ErrorCode::kConflict);
  ASSERT_TRUE(eventually([&] { return a.current().is_leader && a.current().epoch > old_epoch; }));
  EXPECT_EQ(leader_kv().create_revision, a.current().epoch);
  EXPECT_TRUE(eventually([&] { return changes.load() >= 2; }));
}

TEST_F(EtcdElectorTest, EtcdDownMeansNoLeaderThenOneLeadsAgain) {
  std::atomic<int> changes{0};
  add("a").on_change([&] { ++changes; });
  add("b");
  add("c");
  EtcdElector* leader = wait_for_one_leader();
  ASSERT_NE(leader, nullptr);
  const std::int64_t epoch = leader->current().epoch;
  const int changes_before = changes.load();

  etcd_->stop();
  const auto stopped = std::chrono::steady_clock::now();
  // Within the TTL (the local deadline is the TTL minus a margin) nobody claims to lead.
  ASSERT_TRUE(eventually([&] { return leaders().empty(); }, 10s));
  EXPECT_LT(std::chrono::steady_clock::now() - stopped, kTtl + 500ms);
  EXPECT_EQ(leader->confirm(epoch).code(), ErrorCode::kConflict);
  for (auto& e : electors_) {
    EXPECT_TRUE(eventually([&] { return e->current().detail.rfind("etcd unreachable: ", 0) == 0; }))
        << e->current().detail;
  }
  // Still nobody, a while later (no crash, no false leader).
  std::this_thread::sleep_for(kTtl);
  EXPECT_TRUE(leaders().empty());
  if (leader->id() == "a") {
    EXPECT_TRUE(eventually([&] { return changes.load() > changes_before; }));
  }

  ASSERT_TRUE(etcd_->resume());
  EtcdElector* again = wait_for_one_leader(30s);
  ASSERT_NE(again, nullptr);
  EXPECT_GE(again->current().epoch, epoch);
  EXPECT_TRUE(again->confirm(again->current().epoch).ok());
  EXPECT_EQ(leader_kv().create_revision, again->current().epoch);
}

TEST_F(EtcdElectorTest, PausedLeaderStepsDownBeforeAnotherWins) {
  std::atomic<int> changes{0};
  EtcdElector& a = add("a");
  a.on_change([&] { ++changes; });
  ASSERT_TRUE(eventually([&] { return a.current().is_leader; }));
  EtcdElector& b = add("b");
  EtcdElector& c = add("c");
  ASSERT_TRUE(eventually([&] { return b.current().holder == "a" && c.current().holder == "a"; }));
  const std::int64_t epoch = a.current().epoch;

  a.pause_for_testing(true);
  const auto paused = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point a_lost{};
  EtcdElector* winner = nullptr;
  const auto until = paused + 20s;
  while (std::chrono::steady_clock::now() < until && winner == nullptr) {
    // Others first, then a: a leader seen after a winner would be two leaders at once.
    const bool b_leads = b.current().is_leader;
    const bool c_leads = c.current().is_leader;
    const bool a_leads = a.current().is_leader;
    ASSERT_FALSE(a_leads && (b_leads || c_leads));
    ASSERT_FALSE(b_leads && c_leads);
    if (!a_leads && a_lost == std::chrono::steady_clock::time_point{}) {
      a_lost = std::chrono::steady_clock::now();
    }
    if (b_leads) winner = &b;
    if (c_leads) winner = &c;
    std::this_thread::sleep_for(2ms);
  }
  ASSERT_NE(winner, nullptr);
  ASSERT_NE(a_lost, std::chrono::steady_clock::time_point{});
  EXPECT_LT(a_lost - paused, kTtl);
  EXPECT_GT(winner->current().epoch, epoch);
  EXPECT_EQ(a.confirm(epoch).code(), ErrorCode::kConflict);
  EXPECT_EQ(a.current().detail, "lease not renewed in time");
  EXPECT_TRUE(eventually([&] { return changes.load() == 2; }));  // won, then lost

  // Resumed, the old leader finds its lease gone and follows the new one.
  a.pause_for_testing(false);
  EXPECT_TRUE(eventually([&] { return a.current().holder == winner->id(); }));
  EXPECT_FALSE(a.current().is_leader);
  EXPECT_TRUE(winner->current().is_leader);
}

TEST_F(EtcdElectorTest, NoEtcdAtAllIsAFollowerSayingWhy) {
  const std::string endpoint = etcd_->endpoint();
  etcd_->stop();
  etcd::Options options;
  options.connect_timeout = 200ms;
  auto c = std::make_shared<etcd::Client>(std::vector<std::string>{endpoint}, options);
  EtcdElector e(c, "/none", "a", kTtl, kRetry);
  ASSERT_TRUE(eventually([&] { return e.current().detail.rfind("etcd unreachable: ", 0) == 0; }));
  std::this_thread::sleep_for(kRetry * 4);
  EXPECT_FALSE(e.current().is_leader);
  EXPECT_EQ(e.confirm(1).code(), ErrorCode::kConflict);
  EXPECT_EQ(e.lease_id(), 0);
}

}  // namespace
}  // namespace dslmodel::ha

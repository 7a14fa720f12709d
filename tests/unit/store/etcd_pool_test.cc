// EtcdPool on a real etcd, and the pure share_of.
#include "store/etcd_pool.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "dslmodel/time.h"
#include "etcd/client.h"
#include "etcd_server.h"

namespace dslmodel::store {
namespace {

using namespace std::chrono_literals;

struct ShareCase {
  const char* name;
  int target;
  std::vector<std::string> members;
  std::string me;
  int expected;
};

TEST(ShareOfTest, Table) {
  const std::vector<ShareCase> cases = {
      {"no members", 5, {}, "a", 0},
      {"one member takes all", 5, {"a"}, "a", 5},
      {"target zero", 0, {"a", "b"}, "a", 0},
      {"negative target", -3, {"a"}, "a", 0},
      {"three, 5: first gets one more", 5, {"c", "a", "b"}, "a", 2},
      {"three, 5: second gets one more", 5, {"c", "a", "b"}, "b", 2},
      {"three, 5: last gets the quotient", 5, {"c", "a", "b"}, "c", 1},
      {"three, 7: only the first gets more", 7, {"b", "c", "a"}, "a", 3},
      {"three, 7: second", 7, {"b", "c", "a"}, "b", 2},
      {"three, 2: last gets none", 2, {"a", "b", "c"}, "c", 0},
      {"three, 2: first gets one", 2, {"a", "b", "c"}, "a", 1},
      {"three, 6: even", 6, {"a", "b", "c"}, "b", 2},
      {"non-member", 5, {"a", "b"}, "z", 0},
      {"duplicates count once", 3, {"b", "a", "a"}, "a", 2},
      {"sorted by id, not by order given", 1, {"zeta", "alpha"}, "alpha", 1},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(share_of(c.target, c.members, c.me), c.expected) << c.name;
  }
}

TEST(ShareOfTest, SharesAddUpToTheTarget) {
  const std::vector<std::string> ids = {"host-b", "host-a", "host-d", "host-c"};
  for (int target = 0; target <= 13; ++target) {
    int sum = 0;
    int max = 0;
    int min = target;
    for (const auto& id : ids) {
      const int s = share_of(target, ids, id);
      sum += s;
      max = std::max(max, s);
      min = std::min(min, s);
    }
    EXPECT_EQ(sum, target) << "target " << target;
    EXPECT_LE(max - min, 1) << "target " << target;
  }
}

class EtcdPoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    etcd_ = testing::EtcdServer::start();
    ASSERT_TRUE(etcd_);
    etcd::Options options;
    options.request_timeout = 5000ms;
    client_ = std::make_unique<etcd::Client>(std::vector<std::string>{etcd_->endpoint()}, options);
    pool_ = std::make_unique<EtcdPool>(*client_, kPrefix, clock_);
  }
  void TearDown() override {
    pool_.reset();
    client_.reset();
    if (etcd_) etcd_->stop();
  }

  static PoolMember member(const std::string& id, int running) {
    PoolMember m;
    m.id = id;
    m.host = "host-" + id;
    m.pid = 4242;
    m.running = running;
    m.share = running + 1;
    for (int i = 0; i < running; ++i) m.agents.push_back(id + "-agent-" + std::to_string(i));
    return m;
  }

  static constexpr const char* kPrefix = "/pooltest";
  SystemClock clock_;
  std::unique_ptr<testing::EtcdServer> etcd_;
  std::unique_ptr<etcd::Client> client_;
  std::unique_ptr<EtcdPool> pool_;
};

TEST_F(EtcdPoolTest, KeysLiveUnderThePrefix) {
  EXPECT_EQ(pool_->desired_key(), "/pooltest/pool/desired");
  EXPECT_EQ(pool_->member_key("a"), "/pooltest/pool/member/a");
  EXPECT_EQ(pool_->pool_prefix(), "/pooltest/pool/");
  EXPECT_EQ(pool_->leader_key(), "/pooltest/leader");
}

TEST_F(EtcdPoolTest, DesiredRoundTrip) {
  auto none = pool_->desired();
  ASSERT_TRUE(none.ok()) << none.status().message();
  EXPECT_FALSE(none->has_value());

  auto first = pool_->set_desired(5, 0, "dec-1");
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_FALSE(first->has_value());

  auto got = pool_->desired();
  ASSERT_TRUE(got.ok()) << got.status().message();
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->target, 5);
  EXPECT_EQ((*got)->epoch, 0);
  EXPECT_EQ((*got)->decision_id, "dec-1");
  EXPECT_TRUE(parse_iso8601((*got)->updated).has_value()) << (*got)->updated;

  auto second = pool_->set_desired(3, 0, "dec-2");
  ASSERT_TRUE(second.ok());
  ASSERT_TRUE(second->has_value());
  EXPECT_EQ(**second, 5);

  auto cleared = pool_->clear_desired();
  ASSERT_TRUE(cleared.ok());
  ASSERT_TRUE(cleared->has_value());
  EXPECT_EQ(**cleared, 3);
  auto after = pool_->desired();
  ASSERT_TRUE(after.ok());
  EXPECT_FALSE(after->has_value());

  EXPECT_EQ(pool_->set_desired(-1, 0, "bad").status().code(), ErrorCode::kInvalidArgument);
}

TEST_F(EtcdPoolTest, CorruptDesiredIsReported) {
  ASSERT_TRUE(client_->put(pool_->desired_key(), "{\"target\":\"five\"}").ok());
  EXPECT_EQ(pool_->desired().status().code(), ErrorCode::kCorrupt);
  // Overwriting it still works; the unreadable previous value reads as none.
  auto prev = pool_->set_desired(2, 0, "dec");
  ASSERT_TRUE(prev.ok());
  EXPECT_FALSE(prev->has_value());
}

TEST_F(EtcdPoolTest, FencedWriteFailsOnceTheLeaderKeyIsRecreated) {
  auto rev = client_->put(pool_->leader_key(), "{\"id\":\"leader-1\"}");
  ASSERT_TRUE(rev.ok()) << rev.status().message();
  auto kv = client_->range(pool_->leader_key());
  ASSERT_TRUE(kv.ok());
  ASSERT_EQ(kv->kvs.size(), 1U);
  const std::int64_t epoch = kv->kvs.front().create_revision;

  auto ok = pool_->set_desired(4, epoch, "dec-1");
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  auto got = pool_->desired();
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->epoch, epoch);

  // Leadership moves: the key is deleted and created again (a new epoch).
  ASSERT_TRUE(client_->txn({}, {etcd::TxnOp::del(pool_->leader_key())}).ok());
  ASSERT_TRUE(client_->put(pool_->leader_key(), "{\"id\":\"leader-2\"}").ok());

  auto fenced = pool_->set_desired(9, epoch, "dec-2");
  ASSERT_FALSE(fenced.ok());
  EXPECT_EQ(fenced.status().code(), ErrorCode::kConflict);
  EXPECT_EQ(fenced.status().message(),
            "fenced: leadership lost (epoch " + std::to_string(epoch) + ")");
  auto still = pool_->desired();
  ASSERT_TRUE(still.ok() && still->has_value());
  EXPECT_EQ((*still)->target, 4);
  EXPECT_EQ((*still)->decision_id, "dec-1");

  // No leader key at all: fenced too.
  ASSERT_TRUE(client_->txn({}, {etcd::TxnOp::del(pool_->leader_key())}).ok());
  EXPECT_EQ(pool_->set_desired(7, epoch, "dec-3").status().code(), ErrorCode::kConflict);
}

TEST_F(EtcdPoolTest, MembersRoundTripSortedAndVanishWithTheirLease) {
  auto lease_b = client_->lease_grant(60);
  auto lease_a = client_->lease_grant(60);
  ASSERT_TRUE(lease_a.ok() && lease_b.ok());
  ASSERT_TRUE(pool_->announce(member("b", 2), lease_b->id).ok());
  ASSERT_TRUE(pool_->announce(member("a", 3), lease_a->id).ok());

  auto both = pool_->members();
  ASSERT_TRUE(both.ok()) << both.status().message();
  ASSERT_EQ(both->size(), 2U);
  const PoolMember& a = (*both)[0];
  EXPECT_EQ(a.id, "a");
  EXPECT_EQ(a.host, "host-a");
  EXPECT_EQ(a.pid, 4242);
  EXPECT_EQ(a.running, 3);
  EXPECT_EQ(a.share, 4);
  EXPECT_EQ(a.agents, (std::vector<std::string>{"a-agent-0", "a-agent-1", "a-agent-2"}));
  EXPECT_TRUE(parse_iso8601(a.updated).has_value()) << a.updated;
  EXPECT_EQ((*both)[1].id, "b");

  ASSERT_TRUE(client_->lease_revoke(lease_a->id).ok());
  auto left = pool_->members();
  ASSERT_TRUE(left.ok());
  ASSERT_EQ(left->size(), 1U);
  EXPECT_EQ(left->front().id, "b");

  ASSERT_TRUE(pool_->withdraw("b").ok());
  auto none = pool_->members();
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  ASSERT_TRUE(client_->lease_revoke(lease_b->id).ok());
}

TEST_F(EtcdPoolTest, PoolLeaseIsGrantedOnceAndAgainAfterItExpired) {
  PoolLease lease(*client_, 10s);
  bool fresh = false;
  auto first = lease.get(&fresh);
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_TRUE(fresh);
  auto again = lease.get(&fresh);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *first);
  EXPECT_FALSE(fresh);
  EXPECT_TRUE(lease.renew().ok());

  // etcd forgets the lease (as when it expires): renew says so, get() grants a new one.
  ASSERT_TRUE(client_->lease_revoke(*first).ok());
  EXPECT_EQ(lease.renew().code(), ErrorCode::kNotFound);
  auto next = lease.get(&fresh);
  ASSERT_TRUE(next.ok());
  EXPECT_NE(*next, *first);
  EXPECT_TRUE(fresh);

  ASSERT_TRUE(pool_->announce(member("a", 1), *next).ok());
  ASSERT_TRUE(lease.revoke().ok());
  auto gone = pool_->members();
  ASSERT_TRUE(gone.ok());
  EXPECT_TRUE(gone->empty());
  EXPECT_TRUE(lease.revoke().ok()) << "revoking twice is harmless";
}

TEST_F(EtcdPoolTest, KeptLeaseOutlivesItsTtl) {
  PoolLease lease(*client_, 2s);
  auto id = lease.get();
  ASSERT_TRUE(id.ok()) << id.status().message();
  ASSERT_TRUE(pool_->announce(member("a", 1), *id).ok());
  {
    std::jthread keeper([&](const std::stop_token& stop) { lease.keep(stop); });
    // Three TTLs: without renewals the record would be gone.
    const auto until = std::chrono::steady_clock::now() + 6s;
    while (std::chrono::steady_clock::now() < until) {
      auto m = pool_->members();
      ASSERT_TRUE(m.ok());
      ASSERT_EQ(m->size(), 1U) << "the record vanished while its lease was kept";
      std::this_thread::sleep_for(200ms);
    }
  }  // the keeper stops
  auto same = lease.get();
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(*same, *id);
  ASSERT_TRUE(lease.revoke().ok());
}

TEST_F(EtcdPoolTest, BadMemberRecordsAreSkippedAndBadIdsRefused) {
  ASSERT_TRUE(client_->put(pool_->member_key("junk"), "not json").ok());
  ASSERT_TRUE(client_->put(pool_->member_key("liar"), "{\"id\":\"other\"}").ok());
  ASSERT_TRUE(pool_->announce(member("ok", 1), 0).ok());
  auto got = pool_->members();
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->size(), 1U);
  EXPECT_EQ(got->front().id, "ok");

  EXPECT_EQ(pool_->announce(member("", 0), 0).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(pool_->announce(member("a/b", 0), 0).code(), ErrorCode::kInvalidArgument);
}

TEST_F(EtcdPoolTest, UnreachableEtcdIsUnavailable) {
  etcd_->stop();
  EXPECT_EQ(pool_->members().status().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(pool_->set_desired(1, 0, "d").status().code(), ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace dslmodel::store

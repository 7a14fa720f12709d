// The LeaderElector contract (include/dslmodel/leader.h), run over every backend.
//
// Each case is written once against the interface; elector_fixture.h gives each backend an empty
// election. A third backend is a new fixture there and one more entry in kBackends below, nothing
// else (docs/testing.md, "Interface suites"). What only one backend has (leader.json, flock
// inheritance, leases revoked behind its back, etcd down) stays in lock_file_elector_test.cc and
// etcd_elector_test.cc.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "elector_fixture.h"

namespace dslmodel::ha::suite {
namespace {

using namespace std::chrono_literals;

bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout = 20s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return pred();
}

template <typename Fixture>
class ElectorSuite : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string why = backend_.unavailable(); !why.empty()) GTEST_SKIP() << why;
  }
  Fixture backend_;
};

using kBackends = ::testing::Types<LockFileElectorFixture, EtcdElectorFixture>;

class BackendNames {
 public:
  template <typename T>
  static std::string GetName(int) {
    return T::kName;
  }
};

TYPED_TEST_SUITE(ElectorSuite, kBackends, BackendNames);

TYPED_TEST(ElectorSuite, ExactlyOneOfTwoLeadsAndTheOtherNamesIt) {
  auto a = this->backend_.start("a");
  auto b = this->backend_.start("b");
  EXPECT_EQ(a->id(), "a");
  ASSERT_TRUE(eventually([&] { return a->current().is_leader || b->current().is_leader; }));
  std::this_thread::sleep_for(100ms);
  Leadership la = a->current();
  Leadership lb = b->current();
  EXPECT_NE(la.is_leader, lb.is_leader);
  const Leadership& leader = la.is_leader ? la : lb;
  LeaderElector& follower = la.is_leader ? *b : *a;
  EXPECT_GT(leader.epoch, 0);
  EXPECT_EQ(leader.detail, "");
  EXPECT_EQ(leader.holder, la.is_leader ? "a" : "b");
  ASSERT_TRUE(eventually([&] { return follower.current().holder == leader.holder; }));
  Leadership lf = follower.current();
  EXPECT_FALSE(lf.is_leader);
  EXPECT_EQ(lf.epoch, 0);
  EXPECT_EQ(lf.detail.rfind("held by " + leader.holder, 0), 0u) << lf.detail;
  EXPECT_EQ(follower.confirm(leader.epoch).code(), ErrorCode::kConflict);
  LeaderElector& leading = la.is_leader ? *a : *b;
  EXPECT_TRUE(leading.confirm(leader.epoch).ok());
  EXPECT_EQ(leading.confirm(leader.epoch + 1).code(), ErrorCode::kConflict);
}

TYPED_TEST(ElectorSuite, ResignHandsOverWithALargerEpoch) {
  auto a = this->backend_.start("a");
  ASSERT_TRUE(eventually([&] { return a->current().is_leader; }));
  auto b = this->backend_.start("b");
  std::atomic<int> changes{0};
  b->on_change([&] { ++changes; });
  const std::int64_t old_epoch = a->current().epoch;
  ASSERT_TRUE(eventually([&] { return b->current().holder == "a"; }));
  EXPECT_FALSE(b->current().is_leader);

  a->resign();
  EXPECT_FALSE(a->current().is_leader);
  EXPECT_EQ(a->current().detail, "resigned");
  EXPECT_EQ(a->confirm(old_epoch).code(), ErrorCode::kConflict);
  ASSERT_TRUE(eventually([&] { return b->current().is_leader; }, 15s));
  EXPECT_GT(b->current().epoch, old_epoch);
  EXPECT_TRUE(b->confirm(b->current().epoch).ok());
  EXPECT_EQ(b->confirm(old_epoch).code(), ErrorCode::kConflict);
  EXPECT_TRUE(eventually([&] { return changes.load() >= 1; }));
  a->resign();  // idempotent
  std::this_thread::sleep_for(100ms);
  EXPECT_FALSE(a->current().is_leader);
  a.reset();
  EXPECT_TRUE(b->current().is_leader);
}

TYPED_TEST(ElectorSuite, DestructorGivesLeadershipUp) {
  std::int64_t first = 0;
  {
    auto a = this->backend_.start("a");
    ASSERT_TRUE(eventually([&] { return a->current().is_leader; }));
    first = a->current().epoch;
  }
  auto b = this->backend_.start("b");
  ASSERT_TRUE(eventually([&] { return b->current().is_leader; }, 15s));
  EXPECT_GT(b->current().epoch, first);
}

}  // namespace
}  // namespace dslmodel::ha::suite

// What the engine does with the queue's records: finalizing an item whose agent died between the
// two steps of finishing, its undo, the engine's requeue racing an agent's finish, and the item
// locks both take.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <iostream>
#include <latch>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "dslmodel/policy.h"
#include "store/item_lock.h"
#include "unit/store/work_queue_fixture.h"

namespace dslmodel::store {
namespace {

using json = nlohmann::json;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

// The on-disk state a kill -9 between the two steps of finish leaves: the completion is written,
// the work file still claimed. The planner finalizes it instead of requeueing it; counts hold.
TEST_F(DirWorkQueueTest, CrashBetweenCompletionAndMoveIsFinalized) {
  DirWorkQueue q = queue();
  add(q, "w1");
  add(q, "w2");
  WorkItem w = claim(q);
  ASSERT_TRUE(q.finish(w, "a1", ok_run()).ok());
  fs::rename(dir_ / "archive/done/work_w1.json", dir_ / "work_w1.json");  // undo the move

  Snapshot before = snap();
  Config cfg;
  std::vector<RepairAction> plan = plan_queue_repairs(before, cfg, clock_.now());
  ASSERT_EQ(plan.size(), 1u);  // a1 has no agent record: without kFinalize this were a requeue
  EXPECT_EQ(plan[0].op, RepairOp::kFinalize);
  EXPECT_EQ(plan[0].file, "work_w1.json");
  EXPECT_EQ(plan[0].reason, "already_completed");
  EXPECT_EQ(plan[0].expect_claimed_by, "a1");
  EXPECT_EQ(to_string(RepairOp::kFinalize), "finalize");

  RepairOutcome out = apply(plan);
  EXPECT_EQ(out.applied, 1);
  EXPECT_FALSE(has("work_w1.json"));
  EXPECT_TRUE(has("archive/done/work_w1.json"));
  Snapshot after = snap();
  EXPECT_EQ(after.completed.size(), before.completed.size());
  ASSERT_EQ(after.work.size(), 1u);
  EXPECT_EQ(after.work[0].file, "work_w2.json");
  EXPECT_TRUE(plan_queue_repairs(after, cfg, clock_.now()).empty());

  ASSERT_TRUE(store().undo(out.inverse).ok());
  EXPECT_EQ(doc("work_w1.json")["status"], "claimed");
  EXPECT_TRUE(store().undo(out.inverse).ok());  // idempotent
  // Nothing else claims it meanwhile: the next claim is w2.
  EXPECT_EQ(claim(q).id, "w2");
}

// The engine's requeue and the agent's finish race on one item: both hold the item lock, so
// exactly one of them takes effect.
TEST_F(DirWorkQueueTest, EngineRequeueRacingFinishHasOneWinner) {
  DirWorkQueue q(dir_);
  int finish_won = 0;
  int requeue_won = 0;
  for (int i = 0; i < 40; ++i) {
    const std::string id = "r" + std::to_string(i);
    add(q, id);
    Result<std::optional<WorkItem>> w = q.claim_next("a1", 60s);
    ASSERT_TRUE(w.ok() && w->has_value());
    Result<FinishOutcome> fin = Status(ErrorCode::kIo, "not run");
    RepairOutcome rep;
    {
      std::latch go(2);
      std::jthread agent([&] {
        go.arrive_and_wait();
        fin = q.finish(**w, "a1", ok_run());
      });
      DirStore engine(dir_);
      go.arrive_and_wait();
      Result<RepairOutcome> r =
          engine.apply({{RepairOp::kRequeue, "work_" + id + ".json", "a1", "lease_expired"}});
      ASSERT_TRUE(r.ok());
      rep = *r;
    }
    const bool finished = fin.ok() && *fin == FinishOutcome::kCompleted;
    ASSERT_NE(finished, rep.applied == 1) << id << ": " << fin.status().message();
    if (finished) {
      ++finish_won;
      EXPECT_TRUE(has("completed_" + id + ".json"));
      EXPECT_FALSE(has("work_" + id + ".json"));
    } else {
      ++requeue_won;
      EXPECT_EQ(fin.status().code(), ErrorCode::kConflict);
      EXPECT_FALSE(has("completed_" + id + ".json"));
      EXPECT_EQ(doc("work_" + id + ".json")["status"], "pending");
      EXPECT_TRUE(q.requeue(id).ok());
      ASSERT_TRUE(fs::remove(dir_ / ("work_" + id + ".json")));
    }
  }
  EXPECT_EQ(finish_won + requeue_won, 40);
  std::cout << "[ race    ] finish won " << finish_won << ", requeue won " << requeue_won << "\n";
}

TEST(ItemLockStripe, IsStableAndSpread) {
  EXPECT_EQ(detail::lock_stripe("7"), detail::lock_stripe("7"));
  std::set<int> seen;
  for (int i = 0; i < 1000; ++i) {
    int s = detail::lock_stripe(std::to_string(i));
    ASSERT_GE(s, 0);
    ASSERT_LT(s, detail::kLockStripes);
    seen.insert(s);
  }
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(detail::kLockStripes));
}

TEST_F(DirWorkQueueTest, ItemLocksExcludeEachOtherAndCreateTheirFiles) {
  detail::ItemLocks a(dir_);
  detail::ItemLocks b(dir_);
  {
    Result<detail::ItemLocks::Guard> held = a.lock("x");
    ASSERT_TRUE(held.ok());
    Result<detail::ItemLocks::Guard> other = b.try_lock("x");
    EXPECT_EQ(other.status().code(), ErrorCode::kConflict);
  }
  EXPECT_TRUE(b.try_lock("x").ok());
  EXPECT_TRUE(fs::is_directory(dir_ / ".dsl" / "locks"));
  if (::geteuid() == 0) return;  // root writes anywhere
  detail::ItemLocks denied(dir_ / "sub");
  fs::permissions(dir_, fs::perms::owner_write, fs::perm_options::remove);
  EXPECT_EQ(denied.lock("x").status().code(), ErrorCode::kIo);
  fs::permissions(dir_, fs::perms::owner_write, fs::perm_options::add);
}

}  // namespace
}  // namespace dslmodel::store

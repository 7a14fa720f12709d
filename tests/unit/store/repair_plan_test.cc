// The repair plan layer (store/repair_plan.h): preconditions, edits and inverse elements, without
// any store.
#include "store/repair_plan.h"

#include <gtest/gtest.h>

#include "dslmodel/time.h"

namespace dslmodel::store::plan {
namespace {

const TimePoint kNow = *parse_iso8601("2026-01-01T00:00:00Z");

Read read(const std::string& text) { return *read_of(text); }

std::optional<std::string> no_wait(const ojson&) { return std::nullopt; }

TEST(RepairPlan, RequeueClearsTheClaimAndAddsOneAttempt) {
  RepairAction a{RepairOp::kRequeue, "work_7.json", "a1", "orphaned_claim"};
  Edit e = requeue(a, read(R"({"id":"7","status":"claimed","claimed_by":"a1","attempts":1})"),
                   no_wait, kNow);
  ASSERT_FALSE(e.skip);
  const ojson doc = ojson::parse(e.text);
  EXPECT_EQ(doc["status"], "pending");
  EXPECT_FALSE(doc.contains("claimed_by"));
  EXPECT_EQ(doc["attempts"], 2);
  EXPECT_EQ(doc["requeue_reason"], "orphaned_claim");
}

TEST(RepairPlan, RequeueRequiresTheExpectedHolderAndNoRunningProcess) {
  RepairAction a{RepairOp::kRequeue, "work_7.json", "a1", "orphaned_claim"};
  Edit other = requeue(a, read(R"({"status":"claimed","claimed_by":"a2"})"), no_wait, kNow);
  EXPECT_EQ(other.skip, "claimed by \"a2\" now");
  Edit pending = requeue(a, read(R"({"status":"pending"})"), no_wait, kNow);
  EXPECT_EQ(pending.skip, "status is now \"pending\"");
  auto running = [](const ojson&) -> std::optional<std::string> { return "it runs"; };
  Edit waits = requeue(a, read(R"({"status":"claimed","claimed_by":"a1"})"), running, kNow);
  EXPECT_EQ(waits.skip, "postponed: it runs");
}

TEST(RepairPlan, DeadLetterMarksDeadUnlessFinished) {
  RepairAction a{RepairOp::kDeadLetter, "work_7.json", "", "max_attempts"};
  EXPECT_EQ(dead_letter_problem(read(R"({"status":"completed"})")), "status is now \"completed\"");
  const ojson doc = ojson::parse(dead_record(a, read(R"({"status":"pending"})"), kNow));
  EXPECT_EQ(doc["status"], "dead");
  EXPECT_EQ(doc["dead_reason"], "max_attempts");
  EXPECT_EQ(sibling("dead_", "work_7.json"), "dead_7.json");
}

TEST(RepairPlan, TargetsAreCheckedByKind) {
  EXPECT_EQ(target_problem({RepairOp::kRequeue, "completed_1.json", "", ""}, true),
            "not a work file");
  EXPECT_EQ(target_problem({RepairOp::kRetryFailed, "work_1.json", "", ""}, true),
            "not a completed file");
  EXPECT_EQ(target_problem({RepairOp::kArchive, "work_1.json", "", ""}, true),
            "not a completed or telemetry file");
  EXPECT_EQ(target_problem({RepairOp::kArchive, "telemetry_1.json", "", ""}, false),
            "not a record file name");
  EXPECT_FALSE(target_problem({RepairOp::kFinalize, "work_1.json", "", ""}, true));
}

TEST(RepairPlan, InverseElementsKeepTheirFormat) {
  EXPECT_EQ(unretry_step("completed_1.json", "", "work_1.json", "x")["archived"], nullptr);
  EXPECT_EQ(unarchive_batch_step("batch-1-2", "completed_1.json").dump(),
            R"({"batch":"batch-1-2","files":["completed_1.json"],"op":"unarchive"})");
  Step s = step_of(restore_step("work_1.json", "old", "new"));
  EXPECT_EQ(s.op, "restore");
  EXPECT_EQ(undo_restore(s, std::string("old")).what, Undo::kNothing);
  EXPECT_EQ(undo_restore(s, std::string("new")).what, Undo::kWrite);
  EXPECT_EQ(undo_restore(s, std::string("other")).problem,
            "work_1.json: changed since, not restored");
  EXPECT_EQ(undo_restore(s, std::nullopt).problem, "work_1.json: gone, not restored");
}

TEST(RepairPlan, MoveBackOnlyWhenOnlyTheCopyExists) {
  EXPECT_EQ(undo_move_back("work_1.json", "dead_1.json", false, true).what, Undo::kWrite);
  EXPECT_EQ(undo_move_back("work_1.json", "dead_1.json", true, false).what, Undo::kNothing);
  EXPECT_EQ(undo_move_back("work_1.json", "dead_1.json", true, true).problem,
            "work_1.json: exists again, dead_1.json left in place");
  EXPECT_EQ(undo_status({"a", "b"}).message(), "not undone: a; b");
}

}  // namespace
}  // namespace dslmodel::store::plan

// apply()/undo() of DirStore: every op round-trips, preconditions hold, archive totals survive.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "platform/processes.h"
#include "store/dir_store.h"
#include "unit/store/store_fixture.h"

namespace dslmodel::store {
namespace {

using json = nlohmann::json;
using ::testing::HasSubstr;

constexpr const char* kClaimed =
    R"({"id": "w1", "status": "claimed", "claimed_by": "agent_a", "claimed_at": "2025-06-27",)"
    R"( "lease_expires": "2025-06-28", "attempts": 1, "prompt": "p", "extra": [1]})";
constexpr const char* kFailed =
    R"({"id": "c3", "status": "failed", "command": ["echo", "hi"], "attempts": 1,)"
    R"( "max_attempts": 3, "priority": 4, "error": "boom"})";

// A kill -9 between an atomic write's temp file and its rename leaves ".work_<id>.json.tmp.*":
// the next repair removes those older than stale_temp_age and says so; a younger one may still
// be being written and stays.
TEST_F(DirStoreTest, StaleTempFilesAreRemovedDuringRepairAndReported) {
  write("work_1.json", kClaimed);
  const std::string stale = ".work_1.json.tmp.4242.0123456789abcdef";
  const std::string young = ".work_2.json.tmp.4242.fedcba9876543210";
  write(stale, R"({"id": "w1", "sta)");
  write(young, R"({"id": "w2")");
  const auto set_age = [this](const std::string& name, std::chrono::seconds age) {
    const auto t =
        std::chrono::duration_cast<std::chrono::seconds>((clock_.now() - age).time_since_epoch());
    struct timespec times[2] = {{t.count(), 0}, {t.count(), 0}};
    ASSERT_EQ(::utimensat(AT_FDCWD, (dir_ / name).c_str(), times, 0), 0);
  };
  set_age(stale, std::chrono::seconds(120));
  set_age(young, std::chrono::seconds(10));
  RepairOutcome out = apply({{RepairOp::kRequeue, "work_1.json", "agent_a", "orphaned_claim"}});
  EXPECT_EQ(out.applied, 1);
  EXPECT_EQ(out.removed_temp_files, 1);
  EXPECT_THAT(out.notes, ::testing::Contains(HasSubstr("removed stale temp file " + stale)));
  EXPECT_FALSE(fs::exists(dir_ / stale));
  EXPECT_TRUE(fs::exists(dir_ / young));
  EXPECT_EQ(out.inverse.size(), 1u) << "nothing to undo for a temp file";
  EXPECT_EQ(json::parse(read("work_1.json"))["status"], "pending");
}

TEST_F(DirStoreTest, RequeueAndUndo) {
  write("work_1.json", kClaimed);
  RepairOutcome out = apply({{RepairOp::kRequeue, "work_1.json", "agent_a", "orphaned_claim"}});
  EXPECT_EQ(out.applied, 1);
  EXPECT_EQ(out.skipped, 0);
  json doc = json::parse(read("work_1.json"));
  EXPECT_EQ(doc["status"], "pending");
  EXPECT_EQ(doc["attempts"], 2);
  EXPECT_FALSE(doc.contains("claimed_by"));
  EXPECT_FALSE(doc.contains("claimed_at"));
  EXPECT_FALSE(doc.contains("lease_expires"));
  EXPECT_EQ(doc["requeue_reason"], "orphaned_claim");
  EXPECT_EQ(doc["requeued_at"], "2025-07-01T12:00:00.000Z");
  EXPECT_EQ(doc["extra"], json::array({1}));
  ASSERT_EQ(out.inverse.size(), 1u);
  EXPECT_EQ(out.inverse[0]["op"], "restore");

  ASSERT_TRUE(store().undo(out.inverse).ok());
  EXPECT_EQ(read("work_1.json"), kClaimed);
  EXPECT_TRUE(store().undo(out.inverse).ok());  // idempotent
  EXPECT_EQ(read("work_1.json"), kClaimed);
}

// kClaimed with a "processes" member.
std::string claimed_with(const json& processes) {
  json doc = json::parse(kClaimed);
  doc["processes"] = processes;
  return doc.dump();
}

json processes(pid_t pid, std::uint64_t pid_start, pid_t pgid, std::uint64_t pgid_start,
               const std::string& space = platform::pid_space()) {
  return {{"host", "here"},         {"pid_space", space}, {"pid", pid},
          {"pid_start", pid_start}, {"pgid", pgid},       {"pgid_start", pgid_start}};
}

// A `sleep 30` leading its own process group, killed and reaped on destruction.
struct GroupLeader {
  pid_t pid = ::fork();
  GroupLeader() {
    if (pid == 0) {
      ::setpgid(0, 0);
      ::execlp("sleep", "sleep", "30", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::setpgid(pid, pid);
  }
  ~GroupLeader() { end(); }
  void end() {
    if (pid <= 0) return;
    ::kill(-pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    pid = 0;
  }
  std::uint64_t start() const { return platform::read_proc_stat(pid)->start_time; }
};

std::uint64_t own_start() { return platform::read_proc_stat(::getpid())->start_time; }

TEST_F(DirStoreTest, RequeueIsPostponedWhileTheClaimsProcessGroupRuns) {
  GroupLeader group;
  ASSERT_GT(group.pid, 0);
  write("work_1.json", claimed_with(processes(999999, 1, group.pid, group.start())));
  RepairOutcome out = apply({{RepairOp::kRequeue, "work_1.json", "agent_a", "lease_expired"}});
  EXPECT_EQ(out.applied, 0);
  EXPECT_EQ(out.skipped, 1);
  ASSERT_EQ(out.notes.size(), 1u);
  EXPECT_THAT(out.notes[0], HasSubstr("postponed: its process group"));
  EXPECT_EQ(json::parse(read("work_1.json"))["status"], "claimed");
  group.end();
  out = apply({{RepairOp::kRequeue, "work_1.json", "agent_a", "lease_expired"}});
  EXPECT_EQ(out.applied, 1) << (out.notes.empty() ? "" : out.notes[0]);
  json doc = json::parse(read("work_1.json"));
  EXPECT_EQ(doc["status"], "pending");
  EXPECT_FALSE(doc.contains("processes"));
}

TEST_F(DirStoreTest, RequeueIsPostponedWhileTheClaimingAgentRuns) {
  write("work_1.json", claimed_with(processes(::getpid(), own_start(), 999999, 1)));
  RepairOutcome out = apply({{RepairOp::kRequeue, "work_1.json", "agent_a", "orphaned_claim"}});
  EXPECT_EQ(out.applied, 0);
  ASSERT_EQ(out.notes.size(), 1u);
  EXPECT_THAT(out.notes[0], HasSubstr("postponed: its agent (pid"));
}

TEST_F(DirStoreTest, RequeueOfAClaimFromAnotherHostKeepsTheLeaseRule) {
  write("work_1.json", claimed_with(processes(::getpid(), own_start(), ::getpgrp(), 0,
                                              "another-boot/4026531836")));
  RepairOutcome out = apply({{RepairOp::kRequeue, "work_1.json", "agent_a", "lease_expired"}});
  EXPECT_EQ(out.applied, 1);
}

TEST_F(DirStoreTest, RequeueIsNotPostponedByAProcessThatReusedTheClaimsPids) {
  // This process and its group stand for later processes that were given the claim's pids.
  write("work_1.json",
        claimed_with(processes(::getpid(), own_start() + 7, ::getpid(), own_start() + 7)));
  RepairOutcome out = apply({{RepairOp::kRequeue, "work_1.json", "agent_a", "lease_expired"}});
  EXPECT_EQ(out.applied, 1) << (out.notes.empty() ? "" : out.notes[0]);
}

TEST_F(DirStoreTest, RequeueSkipsWhenThePreconditionChanged) {
  write("work_1.json", kClaimed);
  write("work_2.json", R"({"status": "pending"})");
  RepairOutcome out = apply({{RepairOp::kRequeue, "work_1.json", "agent_b", "orphaned_claim"},
                             {RepairOp::kRequeue, "work_2.json", "", "lease_expired"},
                             {RepairOp::kRequeue, "work_3.json", "", "lease_expired"},
                             {RepairOp::kRequeue, "../work_1.json", "", "x"}});
  EXPECT_EQ(out.applied, 0);
  EXPECT_EQ(out.skipped, 4);
  ASSERT_EQ(out.notes.size(), 4u);
  EXPECT_THAT(out.notes[0], HasSubstr("claimed by \"agent_a\""));
  EXPECT_THAT(out.notes[1], HasSubstr("status is now \"pending\""));
  EXPECT_THAT(out.notes[2], HasSubstr("gone"));
  EXPECT_EQ(read("work_1.json"), kClaimed);
  EXPECT_TRUE(out.inverse.empty());
}

TEST_F(DirStoreTest, UndoLeavesARecordThatChangedSinceAlone) {
  write("work_1.json", kClaimed);
  RepairOutcome out = apply({{RepairOp::kRequeue, "work_1.json", "", "lease_expired"}});
  const std::string reclaimed = R"({"id": "w1", "status": "claimed", "claimed_by": "agent_z"})";
  write("work_1.json", reclaimed);
  Status s = store().undo(out.inverse);
  EXPECT_EQ(s.code(), ErrorCode::kConflict);
  EXPECT_THAT(s.message(), HasSubstr("work_1.json"));
  EXPECT_EQ(read("work_1.json"), reclaimed);
}

TEST_F(DirStoreTest, DeadLetterAndUndo) {
  write("work_1.json", kClaimed);
  RepairOutcome out = apply({{RepairOp::kDeadLetter, "work_1.json", "", "max_attempts"}});
  EXPECT_EQ(out.applied, 1);
  EXPECT_FALSE(fs::exists(dir_ / "work_1.json"));
  json dead = json::parse(read("dead_1.json"));
  EXPECT_EQ(dead["status"], "dead");
  EXPECT_EQ(dead["dead_reason"], "max_attempts");
  EXPECT_EQ(dead["dead_at"], "2025-07-01T12:00:00.000Z");
  EXPECT_EQ(dead["prompt"], "p");
  EXPECT_TRUE(snap().work.empty());
  EXPECT_EQ(out.inverse[0]["op"], "undead");

  ASSERT_TRUE(store().undo(out.inverse).ok());
  EXPECT_EQ(read("work_1.json"), kClaimed);
  EXPECT_FALSE(fs::exists(dir_ / "dead_1.json"));
  EXPECT_TRUE(store().undo(out.inverse).ok());
  EXPECT_EQ(read("work_1.json"), kClaimed);
}

TEST_F(DirStoreTest, DeadLetterRefusesToReplaceADeadFile) {
  write("work_1.json", kClaimed);
  write("dead_1.json", "{}");
  RepairOutcome out = apply({{RepairOp::kDeadLetter, "work_1.json", "", "max_attempts"}});
  EXPECT_EQ(out.skipped, 1);
  EXPECT_THAT(out.notes[0], HasSubstr("dead_1.json exists"));
  EXPECT_EQ(read("work_1.json"), kClaimed);
  EXPECT_EQ(read("dead_1.json"), "{}");
}

TEST_F(DirStoreTest, RetryFailedAndUndo) {
  write("completed_3.json", kFailed);
  EXPECT_EQ(snap().completed.at(0).retryable, true);
  RepairOutcome out = apply({{RepairOp::kRetryFailed, "completed_3.json", "", "retryable"}});
  ASSERT_EQ(out.applied, 1) << ::testing::PrintToString(out.notes);
  json work = json::parse(read("work_3.json"));
  EXPECT_EQ(work["id"], "c3");
  EXPECT_EQ(work["status"], "pending");
  EXPECT_EQ(work["command"], json::array({"echo", "hi"}));
  EXPECT_EQ(work["attempts"], 1);
  EXPECT_EQ(work["max_attempts"], 3);
  EXPECT_EQ(work["priority"], 4);
  EXPECT_EQ(work["created"], "2025-07-01T12:00:00.000Z");
  EXPECT_EQ(work["retry_of"], "completed_3.json");
  EXPECT_EQ(read("archive/retried/completed_3.json"), kFailed);
  Snapshot s = snap();
  EXPECT_TRUE(s.completed.empty());
  EXPECT_EQ(s.work.size(), 1u);
  EXPECT_EQ(s.archived.failed, 0);  // retried records do not count

  ASSERT_TRUE(store().undo(out.inverse).ok());
  EXPECT_EQ(read("completed_3.json"), kFailed);
  EXPECT_FALSE(fs::exists(dir_ / "work_3.json"));
  EXPECT_TRUE(fs::exists(dir_ / "archive/undone/work_3.json"));  // moved, never deleted
  EXPECT_TRUE(store().undo(out.inverse).ok());
  EXPECT_EQ(snap().completed.size(), 1u);
}

TEST_F(DirStoreTest, RetryFailedPreconditions) {
  write("completed_3.json", kFailed);
  write("work_3.json", "{}");
  write("completed_4.json", R"({"status": "completed", "command": ["x"]})");
  RepairOutcome out = apply({{RepairOp::kRetryFailed, "completed_3.json", "", "r"},
                             {RepairOp::kRetryFailed, "completed_4.json", "", "r"},
                             {RepairOp::kRetryFailed, "work_3.json", "", "r"}});
  EXPECT_EQ(out.applied, 0);
  EXPECT_EQ(out.skipped, 3);
  EXPECT_THAT(out.notes[0], HasSubstr("work_3.json exists"));
  EXPECT_THAT(out.notes[1], HasSubstr("not a retryable failure"));
  EXPECT_EQ(read("work_3.json"), "{}");
}

TEST_F(DirStoreTest, ArchiveKeepsCountingAndUndoes) {
  copy_fixture();
  write("completed_9.json", R"({"status": "failed"})");
  write("telemetry_9.json", R"({"resourceSpans": [{"scopeSpans": [{"spans": [{}, {}, {}]}]}]})");
  RepairOutcome out = apply({{RepairOp::kArchive, "completed_0.json", "", "retention"},
                             {RepairOp::kArchive, "completed_9.json", "", "retention"},
                             {RepairOp::kArchive, "telemetry_9.json", "", "retention"},
                             {RepairOp::kArchive, "work_0.json", "", "retention"}});
  EXPECT_EQ(out.applied, 3);
  EXPECT_EQ(out.skipped, 1);
  std::string batch = out.inverse[0]["batch"];
  EXPECT_EQ(batch, "batch-" + std::to_string(unix_millis(clock_.now())) + "-" +
                       std::to_string(::getpid()));
  EXPECT_TRUE(fs::exists(dir_ / "archive" / batch / "completed_0.json"));
  Snapshot s = snap();
  EXPECT_EQ(s.completed.size(), 2u);
  EXPECT_EQ(s.telemetry.size(), 4u);
  EXPECT_EQ(s.archived.succeeded, 1);
  EXPECT_EQ(s.archived.failed, 1);
  EXPECT_EQ(s.archived.telemetry, 3);
  json cache = json::parse(read(".dsl/archive_totals.json"));
  EXPECT_EQ(cache["batches"][batch]["telemetry"], 3);
  EXPECT_EQ(cache["totals"]["succeeded"], 1);

  ASSERT_TRUE(store().undo(out.inverse).ok());
  s = snap();
  EXPECT_EQ(s.completed.size(), 4u);
  EXPECT_EQ(s.telemetry.size(), 5u);
  EXPECT_EQ(s.archived.succeeded + s.archived.failed + s.archived.telemetry, 0);
  EXPECT_TRUE(store().undo(out.inverse).ok());
  EXPECT_EQ(snap().completed.size(), 4u);
}

TEST_F(DirStoreTest, ArchiveTotalsSurviveACrashBeforeTheCacheWrite) {
  copy_fixture();
  RepairOutcome first = apply({{RepairOp::kArchive, "completed_0.json", "", "retention"}});
  ASSERT_EQ(first.applied, 1);
  // A second batch whose process died after moving files, before caching its counts.
  fs::create_directories(dir_ / "archive" / "batch-1-1");
  fs::rename(dir_ / "completed_1.json", dir_ / "archive/batch-1-1/completed_1.json");
  fs::rename(dir_ / "telemetry_0.json", dir_ / "archive/batch-1-1/telemetry_0.json");
  Snapshot s = snap();
  EXPECT_EQ(s.completed.size(), 1u);
  EXPECT_EQ(s.archived.succeeded, 2);
  EXPECT_EQ(s.archived.telemetry, 1);
  json cache = json::parse(read(".dsl/archive_totals.json"));
  EXPECT_EQ(cache["batches"]["batch-1-1"]["succeeded"], 1);  // cached on read
  s = snap();
  EXPECT_EQ(s.archived.succeeded, 2);
  EXPECT_EQ(s.archived.telemetry, 1);
  // A lost or corrupt cache is rebuilt from the batch directories.
  write(".dsl/archive_totals.json", "{corrupt");
  EXPECT_EQ(snap().archived.succeeded, 2);
  // A cached batch whose directory is gone does not count.
  fs::remove_all(dir_ / "archive/batch-1-1");
  EXPECT_EQ(snap().archived.succeeded, 1);
}

TEST_F(DirStoreTest, UndoReplaysNewestFirstAcrossOps) {
  write("work_1.json", kClaimed);
  write("completed_3.json", kFailed);
  RepairOutcome out = apply({{RepairOp::kRequeue, "work_1.json", "", "lease_expired"},
                             {RepairOp::kDeadLetter, "work_1.json", "", "max_work_age"},
                             {RepairOp::kRetryFailed, "completed_3.json", "", "retryable"}});
  ASSERT_EQ(out.applied, 3) << ::testing::PrintToString(out.notes);
  ASSERT_TRUE(store().undo(out.inverse).ok());
  EXPECT_EQ(read("work_1.json"), kClaimed);
  EXPECT_EQ(read("completed_3.json"), kFailed);
  EXPECT_FALSE(fs::exists(dir_ / "dead_1.json"));
  EXPECT_FALSE(fs::exists(dir_ / "work_3.json"));
}

TEST_F(DirStoreTest, UndoRejectsMalformedInverse) {
  EXPECT_EQ(store().undo(json::object()).code(), ErrorCode::kInvalidArgument);
  EXPECT_FALSE(store().undo(json::array({{{"op", "explode"}}})).ok());
  EXPECT_FALSE(store().undo(json::array({{{"op", "restore"}, {"file", "../x"}}})).ok());
}

}  // namespace
}  // namespace dslmodel::store

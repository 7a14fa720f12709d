// apply()/undo() of DirStore: what only the directory has (stale temp files, process-group checks
// of a claim, archive batches and their cached totals). Every op's round trip and preconditions
// are store_suite_test.cc, run over every backend.
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

// One apply() archives into one batch, archive/batch-<unix_ms>-<pid>/, and caches the batch's
// counts in .dsl/archive_totals.json.
TEST_F(DirStoreTest, ArchiveMovesIntoOneBatchAndCachesItsCounts) {
  copy_fixture();
  write("telemetry_9.json", R"({"resourceSpans": [{"scopeSpans": [{"spans": [{}, {}, {}]}]}]})");
  RepairOutcome out = apply({{RepairOp::kArchive, "completed_0.json", "", "retention"},
                             {RepairOp::kArchive, "telemetry_9.json", "", "retention"}});
  ASSERT_EQ(out.applied, 2);
  ASSERT_EQ(out.inverse.size(), 2u);
  std::string batch = out.inverse[0]["batch"];
  EXPECT_EQ(batch, "batch-" + std::to_string(unix_millis(clock_.now())) + "-" +
                       std::to_string(::getpid()));
  EXPECT_EQ(out.inverse[1]["batch"], batch);
  EXPECT_TRUE(fs::exists(dir_ / "archive" / batch / "completed_0.json"));
  EXPECT_TRUE(fs::exists(dir_ / "archive" / batch / "telemetry_9.json"));
  json cache = json::parse(read(".dsl/archive_totals.json"));
  EXPECT_EQ(cache["batches"][batch]["telemetry"], 3);
  EXPECT_EQ(cache["totals"]["succeeded"], 1);
}

}  // namespace
}  // namespace dslmodel::store

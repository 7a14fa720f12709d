// DirStore with store.watch: a snapshot reads again only the files that changed since the one
// before, falls back to a full read when events were lost or the rescan interval passed, and is
// always the snapshot a full read gives (docs/performance.md, "Incremental snapshots").
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "platform/unique_fd.h"
#include "store/dir_read.h"
#include "store/dir_store.h"
#include "unit/store/snapshot_text.h"
#include "unit/store/store_fixture.h"

namespace dslmodel::store {
namespace {

// A clock whose steady time the test moves.
class StepClock final : public Clock {
 public:
  TimePoint now() const override { return *parse_iso8601("2025-07-01T12:00:00Z"); }
  std::chrono::steady_clock::time_point steady_now() const override { return steady; }
  std::chrono::steady_clock::time_point steady{std::chrono::hours(1)};
};

StoreConfig watching(Seconds rescan = Seconds(300)) {
  StoreConfig cfg;
  cfg.watch = true;
  cfg.full_rescan_interval = rescan;
  return cfg;
}

class DirWatchTest : public DirStoreTest {
 protected:
  // The snapshot of the watched store, checked against a full read of the same directory.
  Snapshot watched_snap(DirStore& store) {
    Result<Snapshot> s = store.snapshot();
    EXPECT_TRUE(s.ok()) << s.status().message();
    if (!s.ok()) return {};
    EXPECT_EQ(snapshot_text(*s), snapshot_text(snap())) << "incremental and full reads differ";
    return *s;
  }
  std::size_t records_in_fixture() const {
    std::size_t n = 0;
    for (const fs::directory_entry& e : fs::directory_iterator(kFixture)) n += e.is_regular_file();
    return n;
  }

  StepClock step_clock_;
};

TEST_F(DirWatchTest, TheSecondSnapshotOfAnUnchangedDirectoryReadsNothing) {
  copy_fixture();
  DirStore store(dir_, watching(), &step_clock_);
  Snapshot first = watched_snap(store);
  EXPECT_EQ(store.files_read(), records_in_fixture());
  EXPECT_EQ(first.work.size(), 8u);
  Snapshot second = watched_snap(store);
  EXPECT_EQ(store.files_read(), 0u);
  EXPECT_EQ(snapshot_text(first), snapshot_text(second));
}

TEST_F(DirWatchTest, WithoutWatchEverySnapshotReadsEverything) {
  copy_fixture();
  DirStore store(dir_, {}, &step_clock_);
  ASSERT_TRUE(store.snapshot().ok());
  ASSERT_TRUE(store.snapshot().ok());
  EXPECT_EQ(store.files_read(), records_in_fixture());
}

TEST_F(DirWatchTest, ARescanIntervalOfZeroMeansAlwaysFull) {
  copy_fixture();
  DirStore store(dir_, watching(Seconds(0)), &step_clock_);
  watched_snap(store);
  watched_snap(store);
  EXPECT_EQ(store.files_read(), records_in_fixture());
}

TEST_F(DirWatchTest, AnAddedChangedOrRemovedFileIsSeenByTheNextSnapshot) {
  copy_fixture();
  DirStore store(dir_, watching(), &step_clock_);
  watched_snap(store);
  write("work_new.json", R"({"status": "pending", "priority": "high"})");
  Snapshot added = watched_snap(store);
  EXPECT_EQ(store.files_read(), 1u);
  EXPECT_EQ(added.work.size(), 9u);
  write("work_new.json", R"({"status": "claimed", "claimed_by": "agent_0"})");
  Snapshot changed = watched_snap(store);
  EXPECT_EQ(store.files_read(), 1u);
  write("work_new.json", "{not json");
  Snapshot broken = watched_snap(store);
  ASSERT_EQ(broken.rejected.size(), 1u);
  EXPECT_EQ(broken.rejected[0].name, "work_new.json");
  fs::remove(dir_ / "work_new.json");
  Snapshot removed = watched_snap(store);
  EXPECT_EQ(store.files_read(), 0u);  // gone: nothing to read, its entry dropped
  EXPECT_EQ(removed.work.size(), 8u);
  EXPECT_TRUE(removed.rejected.empty());
}

TEST_F(DirWatchTest, RenamesInAndOutAreSeen) {
  copy_fixture();
  DirStore store(dir_, watching(), &step_clock_);
  watched_snap(store);
  // An atomic write: a hidden temp file renamed into place.
  write(".work_9.json.tmp.1.2", R"({"status": "pending"})");
  fs::rename(dir_ / ".work_9.json.tmp.1.2", dir_ / "work_9.json");
  EXPECT_EQ(watched_snap(store).work.size(), 9u);
  EXPECT_EQ(store.files_read(), 1u);
  // Moved in from outside the directory, moved out below it, renamed within it.
  const fs::path outside = dir_.string() + "-outside.json";
  std::ofstream(outside) << R"({"status": "completed"})";
  fs::rename(outside, dir_ / "completed_9.json");
  EXPECT_EQ(watched_snap(store).completed.size(), 4u);
  fs::create_directories(dir_ / "archive" / "batch-1-1");
  fs::rename(dir_ / "completed_9.json", dir_ / "archive" / "batch-1-1" / "completed_9.json");
  Snapshot out = watched_snap(store);
  EXPECT_EQ(out.completed.size(), 3u);
  EXPECT_EQ(out.archived.succeeded, 1);
  fs::rename(dir_ / "work_9.json", dir_ / "dead_9.json");
  EXPECT_EQ(watched_snap(store).work.size(), 8u);
  fs::rename(dir_ / "dead_9.json", dir_ / "work_10.json");
  EXPECT_EQ(watched_snap(store).work.size(), 9u);
}

TEST_F(DirWatchTest, TypeAndPermissionChangesAreSeen) {
  copy_fixture();
  DirStore store(dir_, watching(), &step_clock_);
  watched_snap(store);
  fs::create_symlink(dir_ / "work_0.json", dir_ / "work_link.json");
  fs::create_directory(dir_ / "completed_dir.json");
  Snapshot s = watched_snap(store);
  EXPECT_EQ(s.rejected.size(), 2u);
  fs::remove(dir_ / "work_link.json");
  fs::remove(dir_ / "completed_dir.json");
  ::chmod((dir_ / "work_1.json").c_str(), 0);
  watched_snap(store);  // as root the file stays readable: both reads agree either way
  ::chmod((dir_ / "work_1.json").c_str(), 0644);
  EXPECT_TRUE(watched_snap(store).rejected.empty());
}

TEST_F(DirWatchTest, RepairsAndArchivingKeepTheTotalsRight) {
  copy_fixture();
  DirStore store(dir_, watching(), &step_clock_);
  Snapshot before = watched_snap(store);
  Result<RepairOutcome> out = store.apply({{RepairOp::kArchive, "completed_0.json", "", "t"},
                                           {RepairOp::kArchive, "telemetry_0.json", "", "t"}});
  ASSERT_TRUE(out.ok()) << out.status().message();
  ASSERT_EQ(out->applied, 2);
  Snapshot after = watched_snap(store);
  EXPECT_EQ(after.completed.size(), before.completed.size() - 1);
  EXPECT_EQ(after.telemetry.size(), before.telemetry.size() - 1);
  EXPECT_EQ(after.archived.succeeded + after.archived.failed, 1);
  ASSERT_TRUE(store.undo(out->inverse).ok());
  Snapshot undone = watched_snap(store);
  EXPECT_EQ(snapshot_text(undone), snapshot_text(before));
}

// More events than the kernel queues: it drops them and says so, and the store reads everything.
TEST_F(DirWatchTest, AQueueOverflowFallsBackToAFullRead) {
  std::ifstream limit("/proc/sys/fs/inotify/max_queued_events");
  long max_events = 0;
  if (!(limit >> max_events) || max_events > 200'000) GTEST_SKIP() << "inotify queue too long";
  copy_fixture();
  DirStore store(dir_, watching(), &step_clock_);
  watched_snap(store);
  // Alternating files, so that the kernel cannot merge consecutive events into one.
  const std::string a = (dir_ / "work_0.json").string(), b = (dir_ / "work_1.json").string();
  for (long i = 0; i <= max_events; ++i) ::chmod((i % 2 == 0 ? a : b).c_str(), 0644);
  write("work_new.json", "{}");
  Snapshot s = watched_snap(store);
  EXPECT_EQ(store.files_read(), records_in_fixture() + 1);
  EXPECT_EQ(s.work.size(), 9u);
  watched_snap(store);
  EXPECT_EQ(store.files_read(), 0u);
}

TEST_F(DirWatchTest, ThePeriodicRescanReadsEverything) {
  copy_fixture();
  DirStore store(dir_, watching(Seconds(300)), &step_clock_);
  watched_snap(store);
  step_clock_.steady += Seconds(299);
  watched_snap(store);
  EXPECT_EQ(store.files_read(), 0u);
  step_clock_.steady += Seconds(1);
  watched_snap(store);
  EXPECT_EQ(store.files_read(), records_in_fixture());
  step_clock_.steady += Seconds(10);
  watched_snap(store);
  EXPECT_EQ(store.files_read(), 0u);
}

TEST_F(DirWatchTest, AReplacedOrLateDirectoryIsWatchedAgain) {
  const fs::path later = dir_ / "later";
  DirStore store(later, watching(), &step_clock_);
  EXPECT_EQ(store.snapshot().status().code(), ErrorCode::kNotFound);
  fs::create_directory(later);
  std::ofstream(later / "work_1.json") << "{}";
  Result<Snapshot> s = store.snapshot();
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->work.size(), 1u);
  fs::remove_all(later);
  EXPECT_EQ(store.snapshot().status().code(), ErrorCode::kNotFound);
  fs::create_directory(later);
  std::ofstream(later / "work_2.json") << "{}";
  std::ofstream(later / "work_3.json") << "{}";
  s = store.snapshot();
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->work.size(), 2u);
  EXPECT_EQ(store.files_read(), 2u);
  ASSERT_TRUE(store.snapshot().ok());
  EXPECT_EQ(store.files_read(), 0u);
}

// One random change to the directory: records valid, invalid, with warnings and duplicate ids,
// removals, renames, links and directories.
void random_change(const fs::path& dir, std::mt19937& rng) {
  static const char* kKinds[] = {"agent_", "work_", "completed_", "telemetry_"};
  static const char* kBodies[] = {
      R"({"status": "pending"})",
      R"({"id": "dup", "status": "active", "heartbeat": "2025-07-01T11:59:00Z"})",
      R"({"id": "dup", "status": "claimed", "priority": "urgent"})",
      R"({"status": "failed", "command": ["true"], "attempts": 1, "max_attempts": 3})",
      R"({"timestamp": "2025-07-01T11:00:00Z", "count": "x"})",
      "{broken",
      "[]",
      ""};
  auto pick = [&rng](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  const std::string name = std::string(kKinds[pick(4)]) + std::to_string(pick(12)) + ".json";
  const std::string other = std::string(kKinds[pick(4)]) + std::to_string(pick(12)) + ".json";
  std::error_code ec;
  switch (pick(7)) {
    case 0:
    case 1:
      std::ofstream(dir / name, std::ios::binary | std::ios::trunc) << kBodies[pick(8)];
      break;
    case 2:
      fs::remove(dir / name, ec);
      break;
    case 3:
      fs::rename(dir / name, dir / other, ec);
      break;
    case 4:
      fs::create_symlink(dir / other, dir / name, ec);
      break;
    case 5:
      fs::create_directory(dir / name, ec);
      break;
    default:
      if (fs::is_directory(dir / name, ec)) fs::remove(dir / name, ec);
      break;
  }
}

TEST_F(DirWatchTest, AfterRandomChangesTheIncrementalSnapshotIsTheFullOne) {
  copy_fixture();
  DirStore store(dir_, watching(), &step_clock_);
  watched_snap(store);
  std::mt19937 rng(20251207);
  std::size_t read_total = 0;
  for (int round = 0; round < 60; ++round) {
    const int changes = static_cast<int>(rng() % 6);
    for (int i = 0; i < changes; ++i) random_change(dir_, rng);
    watched_snap(store);
    read_total += store.files_read();
    ASSERT_FALSE(HasFailure()) << "after round " << round;
  }
  EXPECT_LT(read_total, 60 * records_in_fixture() / 2);  // far fewer reads than full ones
}

// The threads of a large read: the snapshot does not depend on how many there are.
TEST_F(DirWatchTest, AParallelReadIsTheSerialOne) {
  std::mt19937 rng(7);
  for (int i = 0; i < 400; ++i) random_change(dir_, rng);
  for (int i = 0; i < 3000; ++i) write("work_bulk" + std::to_string(i) + ".json", "{}");
  Result<platform::UniqueFd> fd = detail::open_directory(dir_);
  ASSERT_TRUE(fd.ok());
  Result<detail::Listing> listing = detail::list_record_files(fd->get());
  ASSERT_TRUE(listing.ok());
  Snapshot serial;
  detail::read_listing(fd->get(), *listing, 1 << 20, 1, serial);
  for (int threads : {2, 3, 4}) {
    Snapshot parallel;
    detail::read_listing(fd->get(), *listing, 1 << 20, threads, parallel);
    EXPECT_EQ(snapshot_text(parallel, /*finish=*/true), snapshot_text(serial, /*finish=*/true))
        << threads << " threads";
  }
  EXPECT_GE(serial.work.size(), 3000u);
}

}  // namespace
}  // namespace dslmodel::store

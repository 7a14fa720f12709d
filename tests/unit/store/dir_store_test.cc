// DirStore: what only the directory has: reading the demo fixture in place, a missing or wrong
// directory, what the top level ignores, file types, names and permissions. What every backend's
// snapshot says is store_suite_test.cc.
#include "store/dir_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "dslmodel/time.h"
#include "platform/files.h"
#include "unit/store/store_fixture.h"

namespace dslmodel::store {
namespace {

using json = nlohmann::json;

// The suite's reference for the demo records: read where they are, without writing there.
TEST_F(DirStoreTest, ReadsTheDemoFixtureInPlaceAndWritesNothing) {
  DirStore store(kFixture);
  Result<Snapshot> s = store.snapshot();
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->agents.size(), 2u);
  EXPECT_EQ(s->work.size(), 8u);
  EXPECT_EQ(s->completed.size(), 3u);
  EXPECT_EQ(s->telemetry.size(), 4u);
  EXPECT_TRUE(s->rejected.empty());
  EXPECT_EQ(s->source, kFixture.string());
  EXPECT_FALSE(fs::exists(kFixture / ".dsl"));
  EXPECT_EQ(store.describe(), kFixture.string());
  EXPECT_EQ(store.state_dir(), (kFixture / ".dsl").string());
}

TEST_F(DirStoreTest, MissingDirectoryIsNotFound) {
  DirStore store(dir_ / "nope");
  Result<Snapshot> s = store.snapshot();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(s.status().message(), "coordination directory not found: " + (dir_ / "nope").string());
  EXPECT_EQ(store.apply({}).status().code(), ErrorCode::kNotFound);
}

TEST_F(DirStoreTest, FileInsteadOfDirectoryIsIo) {
  write("plain", "x");
  Result<Snapshot> s = DirStore(dir_ / "plain").snapshot();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), ErrorCode::kIo);
}

TEST_F(DirStoreTest, IgnoresEverythingButTopLevelRecords) {
  copy_fixture();
  write("dead_1.json", "{}");
  write("Work_9.json", "{}");
  write("work_9.txt", "{}");
  write("notes.md", "hello");
  write(".work_9.json.tmp.1.2", "garbage");
  fs::create_directories(dir_ / "archive" / "retried");
  std::ofstream(dir_ / "archive" / "retried" / "completed_9.json") << R"({"status":"failed"})";
  fs::create_directories(dir_ / ".dsl");
  std::ofstream(dir_ / ".dsl" / "work_10.json") << "{}";
  Snapshot s = snap();
  EXPECT_EQ(s.work.size(), 8u);
  EXPECT_EQ(s.completed.size(), 3u);
  EXPECT_TRUE(s.rejected.empty());
  EXPECT_EQ(s.archived.failed, 0);
}

TEST_F(DirStoreTest, FilesThatAreNotRegularAreRejected) {
  copy_fixture();
  fs::create_symlink(dir_ / "agent_0.json", dir_ / "agent_link.json");
  fs::create_directory(dir_ / "completed_dir.json");
  ::mkfifo((dir_ / "completed_fifo.json").c_str(), 0644);
  Snapshot s = snap();
  EXPECT_EQ(s.agents.size(), 2u);
  EXPECT_EQ(s.completed.size(), 3u);
  std::map<std::string, std::string> reasons;
  for (const RejectedFile& r : s.rejected) reasons[r.name] = r.reason;
  EXPECT_EQ(reasons, (std::map<std::string, std::string>{
                         {"agent_link.json", "symlink"},
                         {"completed_dir.json", "not a regular file"},
                         {"completed_fifo.json", "not a regular file"},
                     }));
}

TEST_F(DirStoreTest, BadFileNamesAreRejected) {
  write("work_\xff\xfe.json", R"({"status": "pending"})");
  write("work_a b.json", R"({"status": "pending"})");
  Snapshot s = snap();
  EXPECT_TRUE(s.work.empty());
  ASSERT_EQ(s.rejected.size(), 2u);
  EXPECT_EQ(s.rejected[1].name, "work_\xef\xbf\xbd\xef\xbf\xbd.json") << "shown with U+FFFD";
  EXPECT_EQ(s.rejected[1].reason, "file name is not valid UTF-8");
}

TEST_F(DirStoreTest, UnreadableFileIsRejected) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads mode 000 files; covered by completed_dir.json";
  write("work_secret.json", "{}");
  fs::permissions(dir_ / "work_secret.json", fs::perms::none);
  Snapshot s = snap();
  ASSERT_EQ(s.rejected.size(), 1u);
  EXPECT_EQ(s.rejected[0].reason, "Permission denied");
}

// A store read again and again (a loop) reuses the archived totals while archive/ and their
// cache are unchanged, and sees every batch added or changed since.
TEST_F(DirStoreTest, ArchivedTotalsAreReusedUntilTheArchiveChanges) {
  const auto batch = [&](const std::string& name, int succeeded) {
    fs::create_directories(dir_ / "archive" / name);
    for (int i = 0; i < succeeded; ++i) {
      std::ofstream(dir_ / "archive" / name / ("completed_" + name + std::to_string(i) + ".json"))
          << R"({"status":"completed"})";
    }
  };
  batch("batch-1-1", 3);
  DirStore store(dir_);
  auto first = store.snapshot();  // counts batch-1-1 from its files and caches it
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->archived.succeeded, 3);
  ASSERT_TRUE(fs::exists(dir_ / ".dsl" / "archive_totals.json"));
  EXPECT_EQ(store.snapshot()->archived.succeeded, 3);
  EXPECT_EQ(store.snapshot()->archived.succeeded, 3);  // from the memo
  batch("batch-2-1", 2);                               // a new batch: archive/ changed
  EXPECT_EQ(store.snapshot()->archived.succeeded, 5);
  EXPECT_EQ(store.snapshot()->archived.succeeded, 5);
  // A batch whose cached counts change (as a retry rewrites the cache): the cache file changed.
  std::string cache = read(".dsl/archive_totals.json");
  const std::string from = R"("batch-2-1":{"failed":0,"succeeded":2)";
  const auto at = cache.find(from);
  ASSERT_NE(at, std::string::npos) << cache;
  cache.replace(at, from.size(), R"("batch-2-1":{"failed":0,"succeeded":7)");
  ASSERT_TRUE(platform::atomic_write_file(dir_ / ".dsl" / "archive_totals.json", cache).ok());
  EXPECT_EQ(store.snapshot()->archived.succeeded, 10);
  fs::remove_all(dir_ / "archive" / "batch-1-1");  // a batch removed
  EXPECT_EQ(store.snapshot()->archived.succeeded, 7);
}

}  // namespace
}  // namespace dslmodel::store

#include "store/dir_store.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "dslmodel/time.h"
#include "platform/files.h"
#include "unit/store/store_fixture.h"

namespace dslmodel::store {
namespace {

using json = nlohmann::json;
using ::testing::HasSubstr;

TEST_F(DirStoreTest, ReadsTheDemoFixtureExactly) {
  DirStore store(kFixture);
  Result<Snapshot> s = store.snapshot();
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->agents.size(), 2u);
  EXPECT_EQ(s->work.size(), 8u);
  EXPECT_EQ(s->completed.size(), 3u);
  EXPECT_EQ(s->telemetry.size(), 4u);
  EXPECT_TRUE(s->rejected.empty());
  EXPECT_FALSE(s->partial);
  EXPECT_EQ(s->source, kFixture.string());
  EXPECT_EQ(s->agents[0].file, "agent_0.json");
  EXPECT_EQ(s->agents[0].status, "active");
  EXPECT_EQ(s->work[7].id, "work_7");
  EXPECT_EQ(s->work[7].status, "pending");
  EXPECT_EQ(s->completed[2].status, "completed");
  EXPECT_EQ(s->telemetry[3].count, 1);
  EXPECT_EQ(s->archived.succeeded + s->archived.failed + s->archived.telemetry, 0);
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

TEST_F(DirStoreTest, BadFilesAreRejectedWithReasonsAndTheRestCounted) {
  copy_fixture();
  write("work_corrupt.json", "{\"id\": \"x\", \"status\": pending}");
  write("work_empty.json", "");
  write("work_trunc.json", "{\"id\": \"x\", \"stat");
  write("work_utf8.json", "{\"id\": \"x\", \"status\": \"pend\xff\xfeing\"}");
  write("work_type.json", "{\"id\": \"x\", \"status\": 5}");
  write("agent_array.json", "[{\"status\": \"active\"}]");
  write("telemetry_big.json", "{\"pad\": \"" + std::string(300, 'x') + "\"}");
  fs::create_symlink(dir_ / "agent_0.json", dir_ / "agent_link.json");
  fs::create_directory(dir_ / "completed_dir.json");
  ::mkfifo((dir_ / "completed_fifo.json").c_str(), 0644);
  Snapshot s = snap(StoreConfig{.max_file_size = 200});
  EXPECT_EQ(s.agents.size(), 2u);
  EXPECT_EQ(s.work.size(), 8u);
  EXPECT_EQ(s.completed.size(), 3u);
  EXPECT_EQ(s.telemetry.size(), 4u);
  std::map<std::string, std::string> reasons;
  for (const RejectedFile& r : s.rejected) reasons[r.name] = r.reason;
  EXPECT_EQ(reasons, (std::map<std::string, std::string>{
                         {"agent_array.json", "not a JSON object"},
                         {"agent_link.json", "symlink"},
                         {"completed_dir.json", "not a regular file"},
                         {"completed_fifo.json", "not a regular file"},
                         {"telemetry_big.json", "over the size limit (200 bytes)"},
                         {"work_corrupt.json", "invalid JSON"},
                         {"work_empty.json", "empty file"},
                         {"work_trunc.json", "invalid JSON"},
                         {"work_type.json", "field \"status\" is not a string"},
                         {"work_utf8.json", "not valid UTF-8"},
                     }));
  EXPECT_TRUE(std::is_sorted(s.rejected.begin(), s.rejected.end(),
                             [](auto& a, auto& b) { return a.name < b.name; }));
}

TEST_F(DirStoreTest, DuplicateIdsCountOnce) {
  for (int i = 0; i < 2000; ++i) {
    write(fmt::format("agent_{:04}.json", i), R"({"id": "agent_1", "status": "active"})");
  }
  write("agent_zz.json", R"({"id": "agent_1", "status": "active", "heartbeat": 1751371200})");
  write("work_a.json", R"({"id": "job", "status": "pending"})");
  write("work_b.json", R"({"id": "job", "status": "pending"})");
  write("work_c.json", R"({"status": "pending"})");
  Snapshot s = snap();
  ASSERT_EQ(s.agents.size(), 1u);
  EXPECT_EQ(s.agents[0].file, "agent_zz.json") << "the newest heartbeat stands for the id";
  EXPECT_EQ(s.work.size(), 2u);
  ASSERT_EQ(s.warnings.size(), 2u);
  EXPECT_EQ(s.warnings[0].name, "agent_zz.json");
  EXPECT_EQ(s.warnings[0].message,
            "id \"agent_1\" is used by 2001 files, counted once (this one); also agent_0000.json, "
            "agent_0001.json, agent_0002.json, agent_0003.json, agent_0004.json, agent_0005.json, "
            "agent_0006.json, agent_0007.json, agent_0008.json, agent_0009.json and 1990 more");
  EXPECT_EQ(s.warnings[1].name, "work_a.json");
  EXPECT_EQ(s.warnings[1].message,
            "id \"job\" is used by 2 files, counted once (this one); also work_b.json");
}

TEST_F(DirStoreTest, WarningsOfKeptRecordsAreListed) {
  write("work_1.json", R"({"status": "pending", "priority": "high", "timeout_s": 0})");
  write("agent_1.json", R"({"status": "active", "pid": "x"})");
  Snapshot s = snap();
  EXPECT_EQ(s.work.size(), 1u);
  EXPECT_EQ(s.agents.size(), 1u);
  ASSERT_EQ(s.warnings.size(), 2u);
  EXPECT_EQ(s.warnings[0].name, "agent_1.json");
  EXPECT_EQ(s.warnings[0].message, R"(field "pid" is not an integer: "x", ignored)");
  EXPECT_EQ(s.warnings[1].name, "work_1.json");
  EXPECT_THAT(s.warnings[1].message, HasSubstr(R"(field "timeout_s" is out of range: 0)"));
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

TEST_F(DirStoreTest, RecordsAreSortedByFileName) {
  for (const char* id : {"b", "c", "a"}) write(std::string("work_") + id + ".json", "{}");
  Snapshot s = snap();
  ASSERT_EQ(s.work.size(), 3u);
  EXPECT_EQ(s.work[0].file, "work_a.json");
  EXPECT_EQ(s.work[2].file, "work_c.json");
  EXPECT_EQ(s.work[0].id, "a");
}

}  // namespace
}  // namespace dslmodel::store

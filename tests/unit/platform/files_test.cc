#include "platform/files.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

namespace dslmodel::platform {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class FilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::path(::testing::TempDir()) / "files_XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
  }
  int entries() {
    int n = 0;
    for (auto it = fs::directory_iterator(dir_); it != fs::directory_iterator(); ++it) ++n;
    return n;
  }

  fs::path dir_;
};

TEST_F(FilesTest, AtomicWriteCreatesAndReplacesLeavingNoTempFiles) {
  fs::path p = dir_ / "work_1.json";
  ASSERT_TRUE(atomic_write_file(p, "first").ok());
  EXPECT_EQ(slurp(p), "first");
  ASSERT_TRUE(atomic_write_file(p, std::string(100000, 'x')).ok());
  EXPECT_EQ(slurp(p), std::string(100000, 'x'));
  ASSERT_TRUE(atomic_write_file(p, "").ok());
  EXPECT_EQ(slurp(p), "");
  EXPECT_EQ(entries(), 1);
}

TEST_F(FilesTest, AtomicWriteFailsNamingThePath) {
  Status s = atomic_write_file(dir_ / "missing" / "x.json", "data");
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("missing"));
}

TEST_F(FilesTest, AtomicCreateNeverReplaces) {
  fs::path p = dir_ / "work_2.json";
  ASSERT_TRUE(atomic_create_file(p, "one").ok());
  Status again = atomic_create_file(p, "two");
  EXPECT_EQ(again.code(), ErrorCode::kConflict);
  EXPECT_EQ(slurp(p), "one");
  EXPECT_EQ(entries(), 1);
}

TEST_F(FilesTest, ReadLimitedHonoursTheLimit) {
  fs::path p = dir_ / "f";
  ASSERT_TRUE(atomic_write_file(p, std::string(100, 'a')).ok());
  Result<std::string> exact = read_file_limited(p, 100);
  ASSERT_TRUE(exact.ok());
  EXPECT_EQ(exact->size(), 100u);
  Result<std::string> over = read_file_limited(p, 99);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_THAT(over.status().message(), HasSubstr("over the size limit (99 bytes)"));
  ASSERT_TRUE(atomic_write_file(p, "").ok());
  EXPECT_EQ(read_file_limited(p, 10).value(), "");
}

TEST_F(FilesTest, ReadLimitedRefusesSymlinksAndSpecialFiles) {
  fs::path target = dir_ / "target";
  ASSERT_TRUE(atomic_write_file(target, "x").ok());
  fs::create_symlink(target, dir_ / "link");
  Result<std::string> link = read_file_limited(dir_ / "link", 100);
  EXPECT_EQ(link.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_THAT(link.status().message(), HasSubstr("symlink"));

  fs::create_directory(dir_ / "sub");
  EXPECT_THAT(read_file_limited(dir_ / "sub", 100).status().message(),
              HasSubstr("not a regular file"));
  ASSERT_EQ(::mkfifo((dir_ / "fifo").c_str(), 0644), 0);
  EXPECT_THAT(read_file_limited(dir_ / "fifo", 100).status().message(),
              HasSubstr("not a regular file"));  // and does not block
  EXPECT_EQ(read_file_limited(dir_ / "none", 100).status().code(), ErrorCode::kNotFound);
}

TEST_F(FilesTest, ReadFileAtGivesBareReasons) {
  ASSERT_TRUE(atomic_write_file(dir_ / "a", "hello").ok());
  fs::create_symlink(dir_ / "a", dir_ / "l");
  int dfd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(dfd, 0);
  std::string buf = "old content";
  ASSERT_TRUE(read_file_at(dfd, "a", 10, buf).ok());
  EXPECT_EQ(buf, "hello");
  Status s = read_file_at(dfd, "l", 10, buf);
  EXPECT_EQ(s.message(), "symlink");
  EXPECT_EQ(read_file_at(dfd, "a", 4, buf).message(), "over the size limit (4 bytes)");
  ::close(dfd);
}

TEST_F(FilesTest, AppendDurableAddsWholeLines) {
  fs::path p = dir_ / "journal.jsonl";
  ASSERT_TRUE(append_durable(p, R"({"n":1})").ok());
  ASSERT_TRUE(append_durable(p, "{\"n\":2}\n").ok());
  ASSERT_TRUE(append_durable(p, "").ok());
  EXPECT_EQ(slurp(p), "{\"n\":1}\n{\"n\":2}\n\n");
  EXPECT_FALSE(append_durable(dir_ / "no" / "j", "x").ok());
}

TEST_F(FilesTest, DurableRenames) {
  ASSERT_TRUE(atomic_write_file(dir_ / "a", "A").ok());
  ASSERT_TRUE(atomic_write_file(dir_ / "b", "B").ok());
  fs::create_directory(dir_ / "sub");
  EXPECT_EQ(durable_rename_noreplace(dir_ / "a", dir_ / "b").code(), ErrorCode::kConflict);
  EXPECT_EQ(slurp(dir_ / "b"), "B");
  ASSERT_TRUE(durable_rename_noreplace(dir_ / "a", dir_ / "sub" / "a").ok());
  EXPECT_EQ(slurp(dir_ / "sub" / "a"), "A");
  ASSERT_TRUE(durable_rename(dir_ / "sub" / "a", dir_ / "b").ok());
  EXPECT_EQ(slurp(dir_ / "b"), "A");
  EXPECT_EQ(durable_rename(dir_ / "gone", dir_ / "c").code(), ErrorCode::kNotFound);
  EXPECT_TRUE(fsync_directory(dir_).ok());
}

// Sets a file's modification time (without following a symlink).
void set_mtime(const fs::path& p, std::chrono::system_clock::time_point t) {
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch());
  struct timespec times[2];
  times[0].tv_sec = times[1].tv_sec = static_cast<time_t>(ns.count() / 1'000'000'000);
  times[0].tv_nsec = times[1].tv_nsec = static_cast<long>(ns.count() % 1'000'000'000);
  ASSERT_EQ(::utimensat(AT_FDCWD, p.c_str(), times, AT_SYMLINK_NOFOLLOW), 0) << p;
}

TEST_F(FilesTest, TempFileNamesAreRecognised) {
  EXPECT_TRUE(is_temp_file_name(temp_file_name("work_1.json")));
  EXPECT_TRUE(is_temp_file_name(".work_x.json.tmp.123.0123456789abcdef"));
  EXPECT_TRUE(is_temp_file_name(".settings.json.tmp.9.ffffffffffffffff"));
  for (const char* not_temp :
       {"work_1.json", ".work_1.json", ".work_1.json.tmp.1.2",
        ".work_1.json.tmp.x.0123456789abcdef", "work_1.json.tmp.1.0123456789abcdef",
        ".tmp.1.0123456789abcdef", ".work_1.json.tmp..0123456789abcdef",
        ".work_1.json.tmp.1.0123456789ABCDEF"}) {
    EXPECT_FALSE(is_temp_file_name(not_temp)) << not_temp;
  }
}

// What a writer killed between creating its temp file and the rename leaves behind: removed once
// old enough, and nothing else is touched.
TEST_F(FilesTest, StaleTempFilesAreRemovedAndNothingElse) {
  const auto now = std::chrono::system_clock::now();
  const fs::path old_tmp = dir_ / ".work_1.json.tmp.4242.0123456789abcdef";
  const fs::path fresh_tmp = dir_ / ".work_2.json.tmp.4242.0123456789abcdef";
  const fs::path old_record = dir_ / "work_3.json";
  const fs::path lookalike = dir_ / ".work_4.json.tmp.x";
  const fs::path outside = dir_ / "sub" / "target";
  const fs::path link = dir_ / ".work_5.json.tmp.4242.0123456789abcdef";
  for (const fs::path& p : {old_tmp, fresh_tmp, old_record, lookalike}) {
    std::ofstream(p) << "{\"status\":";
  }
  fs::create_directories(outside.parent_path());
  std::ofstream(outside) << "keep";
  fs::create_symlink(outside, link);
  for (const fs::path& p : {old_tmp, old_record, lookalike, link, outside}) {
    set_mtime(p, now - std::chrono::minutes(10));
  }
  set_mtime(fresh_tmp, now - std::chrono::seconds(5));

  auto removed = remove_stale_temp_files(dir_, now, std::chrono::seconds(60));
  ASSERT_TRUE(removed.ok()) << removed.status().message();
  EXPECT_THAT(*removed, ::testing::ElementsAre(old_tmp.filename().string()));
  EXPECT_FALSE(fs::exists(old_tmp));
  for (const fs::path& p : {fresh_tmp, old_record, lookalike, outside})
    EXPECT_TRUE(fs::exists(p)) << p;
  EXPECT_TRUE(fs::is_symlink(link));
  EXPECT_FALSE(remove_stale_temp_files(dir_ / "missing", now, std::chrono::seconds(60)).ok());
}

// The engine's private directory is never followed through a symlink.
TEST_F(FilesTest, StateDirectorySymlinkIsRefused) {
  const fs::path state = dir_ / "coord" / ".dsl";
  ASSERT_TRUE(ensure_state_directory(state).ok());
  EXPECT_TRUE(fs::is_directory(state));
  EXPECT_TRUE(ensure_state_directory(state).ok()) << "idempotent";
  ASSERT_TRUE(ensure_state_directory(state / "locks").ok());

  const fs::path linked = dir_ / "other" / ".dsl";
  fs::create_directories(linked.parent_path());
  fs::create_directories(dir_ / "elsewhere");
  fs::create_directory_symlink(dir_ / "elsewhere", linked);
  Status s = ensure_state_directory(linked);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr(linked.string() + ": is a symlink; refusing to follow it"));

  std::ofstream(dir_ / "plain") << "x";
  Status f = ensure_state_directory(dir_ / "plain");
  EXPECT_EQ(f.code(), ErrorCode::kIo);
  EXPECT_THAT(f.message(), HasSubstr("Not a directory"));
}

}  // namespace
}  // namespace dslmodel::platform

#include "platform/files.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

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

}  // namespace
}  // namespace dslmodel::platform

#include "ha/lock_file_elector.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "dslmodel/time.h"

extern char** environ;  // NOLINT(readability-redundant-declaration)

namespace dslmodel::ha {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

constexpr auto kPoll = 20ms;
constexpr auto kDeadline = 20s;

// Polls `pred` until it holds or `timeout` passes.
bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout = kDeadline) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return pred();
}

nlohmann::json read_json(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return nlohmann::json::parse(ss.str(), nullptr, false);
}

class LockFileElectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "dsl-ha-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    dir_ = root_ / ".dsl";
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  fs::path root_;
  fs::path dir_;
};

TEST_F(LockFileElectorTest, FirstEpochIsOneAndTheFollowerNamesTheLeadersPid) {
  LockFileElector a(dir_, "a", kPoll);
  ASSERT_TRUE(eventually([&] { return a.current().is_leader; }));
  EXPECT_EQ(a.current().epoch, 1);
  LockFileElector b(dir_, "b", kPoll);
  ASSERT_TRUE(eventually([&] { return b.current().holder == "a"; }));
  EXPECT_EQ(b.current().detail, "held by a (pid " + std::to_string(::getpid()) + ")");
}

TEST_F(LockFileElectorTest, LeaderJsonDescribesTheLeader) {
  LockFileElector a(dir_, "replica-a", kPoll);
  ASSERT_TRUE(eventually([&] { return a.current().is_leader; }));
  EXPECT_EQ(a.id(), "replica-a");
  EXPECT_EQ(a.current().holder, "replica-a");
  nlohmann::json j = read_json(dir_ / "leader.json");
  ASSERT_TRUE(j.is_object()) << j;
  EXPECT_EQ(j.value("id", ""), "replica-a");
  EXPECT_EQ(j.value("pid", 0), ::getpid());
  EXPECT_EQ(j.value("epoch", 0), 1);
  EXPECT_FALSE(j.value("host", "").empty());
  auto since = parse_iso8601(j.value("since", ""));
  ASSERT_TRUE(since.has_value()) << j;
  EXPECT_LT(std::chrono::abs(std::chrono::system_clock::now() - *since), 60s);
  EXPECT_TRUE(fs::exists(dir_ / "leader.lock"));
  EXPECT_TRUE(a.confirm(1).ok());
  EXPECT_EQ(a.confirm(2).code(), ErrorCode::kConflict);
}

TEST_F(LockFileElectorTest, EpochContinuesFromLeaderJson) {
  fs::create_directories(dir_);
  std::ofstream(dir_ / "leader.json") << R"({"id":"old","pid":1,"epoch":41})";
  LockFileElector a(dir_, "a", kPoll);
  ASSERT_TRUE(eventually([&] { return a.current().is_leader; }));
  EXPECT_EQ(a.current().epoch, 42);
  EXPECT_EQ(read_json(dir_ / "leader.json").value("epoch", 0), 42);
}

TEST_F(LockFileElectorTest, EachNewLeaderCountsTheEpochUpByOne) {
  std::int64_t first = 0;
  {
    LockFileElector a(dir_, "a", kPoll);
    ASSERT_TRUE(eventually([&] { return a.current().is_leader; }));
    first = a.current().epoch;
  }
  LockFileElector b(dir_, "b", kPoll);
  ASSERT_TRUE(eventually([&] { return b.current().is_leader; }));
  EXPECT_EQ(b.current().epoch, first + 1);
}

TEST_F(LockFileElectorTest, LeaderJsonRewrittenByAnotherFencesTheLeader) {
  LockFileElector a(dir_, "a", kPoll);
  ASSERT_TRUE(eventually([&] { return a.current().is_leader; }));
  const std::int64_t epoch = a.current().epoch;
  std::ofstream(dir_ / "leader.json") << R"({"id":"intruder","pid":1,"epoch":7})";
  EXPECT_EQ(a.confirm(epoch).code(), ErrorCode::kConflict);
  // The elector notices, steps down and wins again with an epoch past the intruder's.
  ASSERT_TRUE(eventually([&] { return a.current().epoch > 7; }));
  EXPECT_TRUE(a.confirm(a.current().epoch).ok());
}

TEST_F(LockFileElectorTest, KilledLeaderInAChildProcessIsReplaced) {
  int ready[2];
  ASSERT_EQ(::pipe2(ready, O_CLOEXEC), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(ready[0]);
    {
      LockFileElector e(dir_, "child", kPoll);
      const auto deadline = std::chrono::steady_clock::now() + kDeadline;
      while (!e.current().is_leader && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(5ms);
      }
      char ok = e.current().is_leader ? '1' : '0';
      (void)::write(ready[1], &ok, 1);
      while (true) ::pause();  // killed by the parent
    }
  }
  ::close(ready[1]);
  char ok = 0;
  ASSERT_EQ(::read(ready[0], &ok, 1), 1);
  ::close(ready[0]);
  ASSERT_EQ(ok, '1');

  LockFileElector parent(dir_, "parent", kPoll);
  ASSERT_TRUE(eventually([&] { return parent.current().holder == "child"; }));
  EXPECT_FALSE(parent.current().is_leader);
  EXPECT_EQ(parent.current().detail, "held by child (pid " + std::to_string(child) + ")");
  std::this_thread::sleep_for(kPoll * 3);
  EXPECT_FALSE(parent.current().is_leader);

  ASSERT_EQ(::kill(child, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(eventually([&] { return parent.current().is_leader; }));
  EXPECT_EQ(parent.current().epoch, 2);
  EXPECT_EQ(read_json(dir_ / "leader.json").value("id", ""), "parent");
}

// The descriptor of `path` among /proc/<pid>/fd, or -1.
int find_fd(pid_t pid, const fs::path& path) {
  std::error_code ec;
  const fs::path target = fs::canonical(path, ec);
  for (const auto& entry :
       fs::directory_iterator(fs::path("/proc") / std::to_string(pid) / "fd",
                              fs::directory_options::skip_permission_denied, ec)) {
    std::error_code link_ec;
    fs::path to = fs::read_symlink(entry.path(), link_ec);
    if (!link_ec && to == target) return std::stoi(entry.path().filename().string());
  }
  return -1;
}

TEST_F(LockFileElectorTest, LockIsNotInheritedBySpawnedChildren) {
  LockFileElector a(dir_, "a", kPoll);
  ASSERT_TRUE(eventually([&] { return a.current().is_leader; }));
  const int fd = find_fd(::getpid(), dir_ / "leader.lock");
  ASSERT_GE(fd, 0);
  EXPECT_NE(::fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);

  // posix_spawn without file actions: a descriptor without FD_CLOEXEC would survive the exec.
  pid_t pid = 0;
  std::vector<std::string> args = {"sleep", "30"};
  std::vector<char*> argv = {args[0].data(), args[1].data(), nullptr};
  ASSERT_EQ(::posix_spawnp(&pid, "sleep", nullptr, nullptr, argv.data(), environ), 0);
  // posix_spawn returns after the exec, so the child's descriptor table is final.
  EXPECT_EQ(find_fd(pid, dir_ / "leader.lock"), -1);
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
}

TEST_F(LockFileElectorTest, UnusableDirectoryIsAFollowerSayingWhy) {
  fs::create_directories(root_);
  std::ofstream(root_ / "file") << "x";
  LockFileElector a(root_ / "file" / "sub", "a", kPoll);
  ASSERT_TRUE(eventually(
      [&] { return !a.current().detail.empty() && a.current().detail != "campaigning"; }));
  EXPECT_FALSE(a.current().is_leader);
  EXPECT_NE(a.current().detail.find("cannot create"), std::string::npos) << a.current().detail;
  EXPECT_EQ(a.confirm(1).code(), ErrorCode::kConflict);
}

}  // namespace
}  // namespace dslmodel::ha

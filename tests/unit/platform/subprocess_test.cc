#include "platform/subprocess.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace dslmodel::platform {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

class SubprocessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "dsl-subprocess-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  fs::path dir_;
};

// True once `pid` no longer exists or is a zombie.
bool process_gone(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return true;
  std::string line;
  std::getline(stat, line);
  auto close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() && line[close + 2] == 'Z';
}

bool wait_gone(pid_t pid, std::chrono::milliseconds limit) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (process_gone(pid)) return true;
    std::this_thread::sleep_for(10ms);
  }
  return process_gone(pid);
}

TEST_F(SubprocessTest, EchoesOutput) {
  auto r = run_command({"echo", "hello", "world"});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_EQ(r->signal, 0);
  EXPECT_FALSE(r->timed_out);
  EXPECT_EQ(r->output, "hello world\n");
}

TEST_F(SubprocessTest, ReportsExitCodes) {
  auto r = run_command({"sh", "-c", "exit 3"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 3);
  auto f = run_command({"false"});
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->exit_code, 1);
}

TEST_F(SubprocessTest, CombinesStdoutAndStderr) {
  auto r = run_command({"sh", "-c", "echo out; echo err >&2"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->output, "out\nerr\n");
}

TEST_F(SubprocessTest, ReportsTheKillingSignal) {
  auto r = run_command({"sh", "-c", "kill -9 $$"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, -1);
  EXPECT_EQ(r->signal, SIGKILL);
  EXPECT_FALSE(r->timed_out);
}

TEST_F(SubprocessTest, TimeoutTerminatesQuickly) {
  RunOptions opts;
  opts.timeout = 200ms;
  auto start = std::chrono::steady_clock::now();
  auto r = run_command({"sleep", "30"}, opts);
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->timed_out);
  EXPECT_EQ(r->signal, SIGTERM);
  EXPECT_EQ(r->exit_code, -1);
  EXPECT_LT(took, 3s);
  EXPECT_GE(r->duration, 150ms);
}

TEST_F(SubprocessTest, TimeoutEscalatesToSigkillAfterGrace) {
  RunOptions opts;
  opts.timeout = 100ms;
  opts.grace = 200ms;
  auto start = std::chrono::steady_clock::now();
  auto r = run_command({"sh", "-c", "trap '' TERM; sleep 30"}, opts);
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->timed_out);
  EXPECT_EQ(r->signal, SIGKILL);
  EXPECT_LT(took, 3s);
}

TEST_F(SubprocessTest, TimeoutKillsGrandchildren) {
  fs::path pidfile = dir_ / "grandchild.pid";
  RunOptions opts;
  opts.timeout = 300ms;
  auto r =
      run_command({"sh", "-c", "sleep 30 & echo $! > \"$1\"; wait", "sh", pidfile.string()}, opts);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->timed_out);
  std::ifstream in(pidfile);
  pid_t grandchild = 0;
  ASSERT_TRUE(in >> grandchild);
  EXPECT_TRUE(wait_gone(grandchild, 2s));
}

TEST_F(SubprocessTest, BackgroundGrandchildDoesNotBlockReturn) {
  RunOptions opts;
  opts.timeout = 10s;
  auto start = std::chrono::steady_clock::now();
  auto r = run_command({"sh", "-c", "sleep 30 & echo $!"}, opts);
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->timed_out);
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_LT(took, 5s);
  pid_t grandchild = std::atoi(r->output.c_str());
  ASSERT_GT(grandchild, 0);
  ::kill(grandchild, SIGKILL);
}

TEST_F(SubprocessTest, KeepsOnlyTheOutputTail) {
  RunOptions opts;
  opts.max_output = 1000;
  auto r = run_command({"seq", "1", "200000"}, opts);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 0);
  ASSERT_EQ(r->output.size(), 1000u);
  EXPECT_EQ(r->output.substr(r->output.size() - 7), "200000\n");
}

TEST_F(SubprocessTest, ZeroMaxOutputKeepsNothing) {
  RunOptions opts;
  opts.max_output = 0;
  auto r = run_command({"echo", "hi"}, opts);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->output, "");
}

TEST_F(SubprocessTest, PassesStdin) {
  RunOptions opts;
  opts.stdin_data = "line one\nline two\n";
  auto r = run_command({"cat"}, opts);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->output, opts.stdin_data);
}

TEST_F(SubprocessTest, PassesLargeStdinWhileReadingOutput) {
  RunOptions opts;
  opts.stdin_data.assign(1 << 20, 'x');
  opts.max_output = 2 << 20;
  auto r = run_command({"cat"}, opts);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->output.size(), opts.stdin_data.size());
}

TEST_F(SubprocessTest, ChildIgnoringStdinDoesNotKillUs) {
  RunOptions opts;
  opts.stdin_data.assign(1 << 20, 'x');
  auto r = run_command({"true"}, opts);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 0);
}

TEST_F(SubprocessTest, EmptyStdinIsDevNull) {
  auto r = run_command({"cat"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_EQ(r->output, "");
}

TEST_F(SubprocessTest, ArgumentsAreNeverInterpretedByAShell) {
  fs::path victim = dir_ / "pwned";
  std::vector<std::string> nasty = {"$(touch " + victim.string() + ")",
                                    "`touch " + victim.string() + "`",
                                    "; touch " + victim.string(),
                                    "a\nb",
                                    "*",
                                    "$HOME",
                                    "'quoted' \"double\"",
                                    "&& rm -rf /"};
  std::vector<std::string> argv = {"printf", "[%s]\\n"};
  argv.insert(argv.end(), nasty.begin(), nasty.end());
  auto r = run_command(argv);
  ASSERT_TRUE(r.ok());
  std::string expected;
  for (const auto& a : nasty) expected += "[" + a + "]\n";
  EXPECT_EQ(r->output, expected);
  EXPECT_FALSE(fs::exists(victim));
}

TEST_F(SubprocessTest, MissingProgramIsUnavailable) {
  auto r = run_command({"dslmodel-no-such-program-xyz", "arg"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(r.status().message().rfind("cannot start dslmodel-no-such-program-xyz: ", 0), 0u)
      << r.status().message();
  auto abs = run_command({(dir_ / "missing").string()});
  ASSERT_FALSE(abs.ok());
  EXPECT_EQ(abs.status().code(), ErrorCode::kUnavailable);
}

TEST_F(SubprocessTest, ExitCode127FromARealProgramIsAResult) {
  auto r = run_command({"sh", "-c", "exit 127"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 127);
}

TEST_F(SubprocessTest, EmptyArgvIsInvalid) {
  auto r = run_command({});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
}

TEST_F(SubprocessTest, ChildInheritsNoStrayDescriptors) {
  int fd = ::open("/dev/null", O_RDONLY);  // deliberately not close-on-exec
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::dup2(fd, 57), 57);
  ::close(fd);
  auto r = run_command({"ls", "/proc/self/fd"});
  ::close(57);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->output.find("57"), std::string::npos) << r->output;
}

TEST_F(SubprocessTest, ChildRunsInItsOwnProcessGroup) {
  auto r = run_command({"sh", "-c", "cut -d' ' -f5 /proc/$$/stat; echo $$"});
  ASSERT_TRUE(r.ok());
  int pgid = 0;
  int pid = 0;
  ASSERT_EQ(std::sscanf(r->output.c_str(), "%d %d", &pgid, &pid), 2) << r->output;
  EXPECT_EQ(pgid, pid);
}

TEST_F(SubprocessTest, ReturnsWhenTheEmbedderIgnoresSigchld) {
  struct sigaction ignore {};
  struct sigaction old {};
  ignore.sa_handler = SIG_IGN;
  ASSERT_EQ(::sigaction(SIGCHLD, &ignore, &old), 0);
  auto r = run_command({"sh", "-c", "echo done"});
  ::sigaction(SIGCHLD, &old, nullptr);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->output, "done\n");
  EXPECT_EQ(r->exit_code, -1);  // the kernel reaped it, so its status is unknown
}

TEST_F(SubprocessTest, ConcurrentRunsKeepTheirOwnOutput) {
  constexpr int kThreads = 8;
  std::vector<std::string> outputs(kThreads);
  {
    std::vector<std::jthread> threads;
    threads.reserve(kThreads);
    for (int i = 0; i < kThreads; ++i) {
      threads.emplace_back([i, &outputs] {
        auto r = run_command({"sh", "-c", "sleep 0.05; echo " + std::to_string(i)});
        if (r.ok()) outputs[i] = r->output;
      });
    }
  }
  for (int i = 0; i < kThreads; ++i) EXPECT_EQ(outputs[i], std::to_string(i) + "\n");
}

}  // namespace
}  // namespace dslmodel::platform

#include "agent/child_runner.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stop_token>
#include <string>
#include <thread>

#include "platform/processes.h"

namespace dslmodel::agent {
namespace {

using namespace std::chrono_literals;

TEST(ChildRunner, RunsAndCapturesOutput) {
  ChildSpec spec;
  spec.argv = {"sh", "-c", "echo out; echo err >&2; exit 4"};
  auto r = run_child(spec, std::stop_token{});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->exit_code, 4);
  EXPECT_EQ(r->output, "out\nerr\n");
  EXPECT_FALSE(r->timed_out);
  EXPECT_FALSE(r->cancelled);
}

TEST(ChildRunner, EmptyArgvIsInvalid) {
  auto r = run_child(ChildSpec{}, std::stop_token{});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
}

TEST(ChildRunner, StdinIsWrittenThenClosed) {
  ChildSpec spec;
  spec.argv = {"wc", "-c"};
  spec.stdin_data = std::string(200000, 'x');  // more than a pipe buffer
  auto r = run_child(spec, std::stop_token{});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->output.substr(r->output.find_first_not_of(' ')), "200000\n");
}

TEST(ChildRunner, TimeoutKillsTheWholeGroup) {
  ChildSpec spec;
  spec.argv = {"sh", "-c", "trap '' TERM; sleep 30 & wait"};
  spec.timeout = 200ms;
  spec.kill_grace = 200ms;
  auto t0 = std::chrono::steady_clock::now();
  auto r = run_child(spec, std::stop_token{});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->timed_out);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
}

TEST(ChildRunner, StopWaitsForTheGraceThenCancels) {
  ChildSpec spec;
  spec.argv = {"sleep", "30"};
  spec.stop_grace = 200ms;
  std::stop_source src;
  std::jthread stopper([&] {
    std::this_thread::sleep_for(100ms);
    src.request_stop();
  });
  auto t0 = std::chrono::steady_clock::now();
  auto r = run_child(spec, src.get_token());
  auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->cancelled);
  EXPECT_FALSE(r->timed_out);
  EXPECT_GE(took, 280ms);
  EXPECT_LT(took, 2s);
}

TEST(ChildRunner, OutputIsValidUtf8) {
  ChildSpec spec;
  spec.argv = {"printf", "\\377ok\\303"};
  auto r = run_child(spec, std::stop_token{});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->output, "\xEF\xBF\xBDok\xEF\xBF\xBD");
}

// True once `pid` is gone or a zombie (reparented leftovers are reaped by init in a moment).
bool ended_within(pid_t pid, std::chrono::seconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    auto st = platform::read_proc_stat(pid);
    if (!st || platform::is_dead_state(st->state)) return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

TEST(ChildRunner, ProcessesLeftInTheGroupDieWhenTheCommandExits) {
  ChildSpec spec;
  spec.argv = {"sh", "-c", "sleep 30 & echo $!"};
  auto r = run_child(spec, std::stop_token{});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->exit_code, 0);
  const pid_t leftover = std::stoi(r->output);
  EXPECT_TRUE(ended_within(leftover, 10s)) << "the background sleep outlived its item";
}

TEST(ChildRunner, OnStartNamesTheGroupTheCommandRunsIn) {
  ChildSpec spec;
  spec.argv = {"sh", "-c", "cat /proc/$$/stat"};
  StartedChild seen;
  int calls = 0;
  spec.on_start = [&](const StartedChild& c) {
    seen = c;
    ++calls;
  };
  auto r = run_child(spec, std::stop_token{});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(calls, 1);
  EXPECT_GT(seen.pgid, 0);
  EXPECT_GT(seen.start_time, 0u);
  // Field 5 of the command's /proc/<pid>/stat is its process group.
  std::istringstream fields(r->output.substr(r->output.rfind(')') + 2));
  std::string state, ppid, pgrp;
  fields >> state >> ppid >> pgrp;
  EXPECT_EQ(pgrp, std::to_string(seen.pgid));
}

TEST(ChildRunner, TheCommandsSignalPassesThroughTheShim) {
  ChildSpec spec;
  spec.argv = {"sh", "-c", "kill -USR1 $$"};
  auto r = run_child(spec, std::stop_token{});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->exit_code, -1);
  EXPECT_EQ(r->signal, SIGUSR1);
}

TEST(ChildRunner, AProgramThatCannotStartIsUnavailable) {
  for (const char* prog : {"/nonexistent/program", "no-such-program-dslmodel"}) {
    ChildSpec spec;
    spec.argv = {prog};
    auto r = run_child(spec, std::stop_token{});
    ASSERT_FALSE(r.ok()) << prog;
    EXPECT_EQ(r.status().code(), ErrorCode::kUnavailable);
    EXPECT_NE(r.status().message().find("cannot start"), std::string::npos);
  }
}

// The agent is a forked copy of this test running run_child; it is killed with SIGKILL while its
// command's grandchild sleeps. Neither may survive it, and the grandchild's write never happens.
TEST(ChildRunner, AKilledAgentTakesTheWholeGroupOfItsChildWithIt) {
  const std::filesystem::path mark =
      std::filesystem::temp_directory_path() / ("dslmodel-orphan-" + std::to_string(::getpid()));
  std::filesystem::remove(mark);
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t agent = ::fork();
  ASSERT_GE(agent, 0);
  if (agent == 0) {
    ::close(fds[0]);
    ChildSpec spec;
    spec.argv = {"sh", "-c", "(sleep 1; echo ran > " + mark.string() + ") & wait"};
    spec.on_start = [&](const StartedChild& c) { (void)!::write(fds[1], &c, sizeof c); };
    (void)run_child(spec, std::stop_token{});
    ::_exit(0);
  }
  ::close(fds[1]);
  StartedChild child;
  ASSERT_EQ(::read(fds[0], &child, sizeof child), static_cast<ssize_t>(sizeof child));
  ::close(fds[0]);
  std::this_thread::sleep_for(100ms);
  ASSERT_TRUE(platform::process_group_running(child.pgid, child.start_time));
  ASSERT_EQ(::kill(agent, SIGKILL), 0);
  ASSERT_EQ(::waitpid(agent, nullptr, 0), agent);
  const auto end = std::chrono::steady_clock::now() + 10s;
  while (platform::process_group_running(child.pgid, child.start_time) &&
         std::chrono::steady_clock::now() < end) {
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_FALSE(platform::process_group_running(child.pgid, child.start_time));
  std::this_thread::sleep_for(1500ms);  // past the grandchild's sleep
  EXPECT_FALSE(std::filesystem::exists(mark)) << "the orphaned grandchild ran on";
  std::filesystem::remove(mark);
}

TEST(SanitizeUtf8, KeepsValidTextAndDropsALeadingPartialCharacter) {
  EXPECT_EQ(sanitize_utf8("héllo ✓ 😀"), "héllo ✓ 😀");
  EXPECT_EQ(sanitize_utf8("\xA9tail"), "tail");                          // cut mid-character
  EXPECT_EQ(sanitize_utf8("a\xC0\xAFz"), "a\xEF\xBF\xBD\xEF\xBF\xBDz");  // overlong
  EXPECT_EQ(sanitize_utf8("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
  EXPECT_EQ(sanitize_utf8(""), "");
}

}  // namespace
}  // namespace dslmodel::agent

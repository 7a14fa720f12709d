#include "agent/child_runner.h"

#include <gtest/gtest.h>

#include <chrono>
#include <stop_token>
#include <thread>

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

TEST(SanitizeUtf8, KeepsValidTextAndDropsALeadingPartialCharacter) {
  EXPECT_EQ(sanitize_utf8("héllo ✓ 😀"), "héllo ✓ 😀");
  EXPECT_EQ(sanitize_utf8("\xA9tail"), "tail");                          // cut mid-character
  EXPECT_EQ(sanitize_utf8("a\xC0\xAFz"), "a\xEF\xBF\xBD\xEF\xBF\xBDz");  // overlong
  EXPECT_EQ(sanitize_utf8("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
  EXPECT_EQ(sanitize_utf8(""), "");
}

}  // namespace
}  // namespace dslmodel::agent

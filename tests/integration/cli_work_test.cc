// The dsl binary's `work` commands on temp coordination directories: bad usage writes nothing,
// add/list/show/requeue round-trip, arguments stay literal.
#include <gtest/gtest.h>

#include <filesystem>

#include "integration/dsl_runner.h"

namespace dslmodel::testing {
namespace {

namespace fs = std::filesystem;

std::size_t entries(const fs::path& dir) {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : fs::recursive_directory_iterator(dir)) ++n;
  return n;
}

nlohmann::json read_json(const fs::path& p) {
  return nlohmann::json::parse(slurp(p), nullptr, false);
}

TEST(CliWork, BadUsageExitsTwoAndWritesNothing) {
  TempDir d;
  const std::string dir = d.path().string();
  const std::vector<std::vector<std::string>> bad = {
      {"work", "add", "-c", dir},
      {"work", "add", "-c", dir, "--"},
      {"work", "add", "-c", dir, "--bogus", "--", "echo", "hi"},
      {"work", "add", "-c", dir, "--timeout", "abc", "--", "echo", "hi"},
      {"work", "add", "-c", dir, "--timeout", "0", "--", "echo", "hi"},
      {"work", "add", "-c", dir, "--timeout", "-5", "--", "echo", "hi"},
      {"work", "add", "-c", dir, "--max-attempts", "0", "--", "echo", "hi"},
      {"work", "add", "-c", dir, "--prompt", "x", "--", "echo", "hi"},
      {"work", "add", "-c", dir, "--prompt", ""},
      {"work", "add", "-c", dir, "--id", "../escape", "--", "echo", "hi"},
      {"--json", "work", "add", "-c", dir},
  };
  for (const auto& args : bad) {
    DslRun r = run_dsl(args);
    std::string joined;
    for (const auto& a : args) joined += a + " ";
    EXPECT_EQ(r.exit_code, 2) << joined << "\n" << r.err;
    EXPECT_FALSE(r.err.empty()) << joined;
    EXPECT_EQ(entries(d.path()), 0u) << joined;
  }
  DslRun none = run_dsl({"work", "add", "-c", dir});
  EXPECT_NE(none.err.find("nothing to run"), std::string::npos) << none.err;
  DslRun timeout = run_dsl({"work", "add", "-c", dir, "--timeout", "abc", "--", "echo"});
  EXPECT_NE(timeout.err.find("--timeout"), std::string::npos) << timeout.err;
}

TEST(CliWork, MissingDirectoryExitsOne) {
  DslRun r = run_dsl({"work", "add", "-c", "/nonexistent/coord", "--", "echo", "hi"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("coordination directory not found: /nonexistent/coord"), std::string::npos)
      << r.err;
}

TEST(CliWork, AddListShowRequeue) {
  TempDir d;
  const std::string dir = d.path().string();
  DslRun add = run_dsl({"work", "add", "-c", dir, "--priority", "5", "--max-attempts", "2",
                        "--timeout", "30", "--id", "job1", "--", "echo", "hello world"});
  ASSERT_EQ(add.exit_code, 0) << add.err;
  EXPECT_EQ(add.out, "job1\n");
  nlohmann::json rec = read_json(d / "work_job1.json");
  ASSERT_TRUE(rec.is_object());
  EXPECT_EQ(rec["command"], nlohmann::json::array({"echo", "hello world"}));
  EXPECT_EQ(rec["priority"], 5);
  EXPECT_EQ(rec["max_attempts"], 2);
  EXPECT_EQ(rec["status"], "pending");

  DslRun jadd = run_dsl({"--json", "work", "add", "--prompt", "write a haiku", "-c", dir});
  ASSERT_EQ(jadd.exit_code, 0) << jadd.err;
  nlohmann::json env = jadd.json();
  EXPECT_EQ(env["command"], "work-add");
  EXPECT_EQ(env["success"], true);
  const std::string pid = env["data"]["id"];
  EXPECT_TRUE(fs::exists(d / ("work_" + pid + ".json")));

  DslRun list = run_dsl({"work", "list", "-c", dir}, {"NO_COLOR=1"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.out.find("ID"), std::string::npos);
  EXPECT_NE(list.out.find("CLAIMED_BY"), std::string::npos);
  EXPECT_NE(list.out.find("job1"), std::string::npos);
  EXPECT_NE(list.out.find("'hello world'"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("prompt: write a haiku"), std::string::npos) << list.out;
  EXPECT_LT(list.out.find("job1"), list.out.find(pid)) << "priority 5 first";

  DslRun jlist = run_dsl({"--json", "work", "list", "--status", "pending", "-c", dir});
  ASSERT_EQ(jlist.exit_code, 0);
  EXPECT_EQ(jlist.json()["data"]["items"].size(), 2u);
  DslRun claimed = run_dsl({"--json", "work", "list", "--status", "claimed", "-c", dir});
  EXPECT_EQ(claimed.json()["data"]["items"].size(), 0u);

  DslRun show = run_dsl({"work", "show", "job1", "-c", dir});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  EXPECT_EQ(nlohmann::json::parse(show.out)["id"], "job1");
  DslRun missing = run_dsl({"work", "show", "nope", "-c", dir});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("no work item nope"), std::string::npos) << missing.err;

  // A claim held by a dead agent, requeued by hand.
  rec["status"] = "claimed";
  rec["claimed_by"] = "ghost";
  write_file(d / "work_job1.json", rec.dump());
  DslRun rq = run_dsl({"work", "requeue", "job1", "-c", dir});
  ASSERT_EQ(rq.exit_code, 0) << rq.err;
  nlohmann::json after = read_json(d / "work_job1.json");
  EXPECT_EQ(after["status"], "pending");
  EXPECT_FALSE(after.contains("claimed_by"));
  EXPECT_EQ(run_dsl({"work", "requeue", "nope", "-c", dir}).exit_code, 1);
}

TEST(CliWork, ArgumentsAfterDoubleDashAreLiteral) {
  TempDir d;
  const std::string dir = d.path().string();
  DslRun add = run_dsl({"work", "add", "-c", dir, "--id", "inj", "--", "echo", "$(touch X)",
                        "; rm -rf /", "a\nb", "-c", "--json"});
  ASSERT_EQ(add.exit_code, 0) << add.err;
  EXPECT_EQ(add.out, "inj\n") << "--json after -- is an argument, not the flag";
  nlohmann::json rec = read_json(d / "work_inj.json");
  EXPECT_EQ(rec["command"],
            nlohmann::json::array({"echo", "$(touch X)", "; rm -rf /", "a\nb", "-c", "--json"}));
}

TEST(CliWork, HelpExplainsTheCommands) {
  DslRun top = run_dsl({"--help"});
  EXPECT_EQ(top.exit_code, 0);
  EXPECT_NE(top.out.find("work"), std::string::npos);
  EXPECT_NE(top.out.find("agent"), std::string::npos);
  DslRun work = run_dsl({"work", "--help"});
  EXPECT_EQ(work.exit_code, 0);
  for (const char* c : {"add", "list", "show", "requeue"}) {
    EXPECT_NE(work.out.find(c), std::string::npos) << c;
  }
  DslRun add = run_dsl({"work", "add", "--help"});
  EXPECT_NE(add.out.find("--prompt"), std::string::npos);
  EXPECT_NE(add.out.find("--timeout"), std::string::npos);
}

}  // namespace
}  // namespace dslmodel::testing

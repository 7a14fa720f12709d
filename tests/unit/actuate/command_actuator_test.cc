#include "actuate/command_actuator.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace dslmodel::actuate {
namespace {

ScaleRequest make_request(int current, int target, std::string decision_id) {
  ScaleRequest r;
  r.current_agents = current;
  r.target_agents = target;
  r.decision_id = std::move(decision_id);
  return r;
}

using namespace std::chrono_literals;
namespace fs = std::filesystem;

// The test's stand-in orchestrator is a shell script; the actuator itself never uses a shell.
class CommandActuatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "dsl-actuate-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    log_ = dir_ / "calls.log";
    // Records each argument on its own line, then "--", then runs the optional behaviour.
    write_script("orchestrator.sh",
                 "#!/bin/sh\n"
                 "log=\"$1\"; shift\n"
                 "for a in \"$@\"; do printf '%s\\n' \"$a\" >> \"$log\"; done\n"
                 "echo -- >> \"$log\"\n"
                 "echo \"orchestrator: now $2 agents\"\n");
    write_script("fail.sh",
                 "#!/bin/sh\necho starting\necho 'boom: cluster unreachable' >&2\n"
                 "exit 4\n");
    write_script("slow.sh", "#!/bin/sh\nsleep 30\n");
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  void write_script(const std::string& name, const std::string& body) {
    fs::path p = dir_ / name;
    std::ofstream(p) << body;
    fs::permissions(p, fs::perms::owner_all);
  }

  std::string script(const std::string& name) const { return (dir_ / name).string(); }

  std::vector<std::string> logged_args() const {
    std::ifstream in(log_);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }

  std::unique_ptr<CommandActuator> make(std::vector<std::string> argv,
                                        std::chrono::seconds timeout = 10s) {
    ActuatorConfig cfg;
    cfg.scale_command = std::move(argv);
    cfg.timeout = timeout;
    auto a = CommandActuator::create(cfg, "/srv/coord");
    EXPECT_TRUE(a.ok()) << a.status().message();
    return a.ok() ? std::move(a).value() : nullptr;
  }

  fs::path dir_;
  fs::path log_;
};

TEST_F(CommandActuatorTest, CreateRejectsAnEmptyCommand) {
  auto a = CommandActuator::create(ActuatorConfig{}, "/c");
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), ErrorCode::kInvalidArgument);
  ActuatorConfig blank;
  blank.scale_command = {""};
  EXPECT_EQ(CommandActuator::create(blank, "/c").status().code(), ErrorCode::kInvalidArgument);
}

TEST_F(CommandActuatorTest, CreateRejectsAnUnknownPlaceholderByName) {
  ActuatorConfig cfg;
  cfg.scale_command = {"kubectl", "scale", "--replicas={target_agents}", "--ns={foo}"};
  auto a = CommandActuator::create(cfg, "/c");
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(a.status().message().find("{foo}"), std::string::npos) << a.status().message();
}

TEST_F(CommandActuatorTest, CreateLeavesNonIdentifierBracesAlone) {
  ActuatorConfig cfg;
  cfg.scale_command = {"curl", "-d", R"({"replicas": {target_agents}})", "{}", "{ x }"};
  auto a = CommandActuator::create(cfg, "/c");
  ASSERT_TRUE(a.ok()) << a.status().message();
  ScaleRequest req = make_request(1, 4, "dec-1");
  EXPECT_EQ((*a)->expand(req),
            (std::vector<std::string>{"curl", "-d", R"({"replicas": 4})", "{}", "{ x }"}));
}

TEST_F(CommandActuatorTest, SubstitutedValuesAreNotExpandedAgain) {
  auto a = make({"x", "{decision_id}:{coordination_dir}", "{{target_agents}}", "{target_agents"});
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(
      a->expand(make_request(1, 3, "{coordination_dir}")),
      (std::vector<std::string>{"x", "{coordination_dir}:/srv/coord", "{3}", "{target_agents"}));
}

TEST_F(CommandActuatorTest, NameIsCommand) {
  auto a = make({"true"});
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->name(), "command");
}

TEST_F(CommandActuatorTest, ScaleSubstitutesEveryPlaceholder) {
  auto a = make({script("orchestrator.sh"), log_.string(), "--replicas={target_agents}",
                 "{current_agents}", "{delta}", "id={decision_id}", "{coordination_dir}/x",
                 "{target_agents}{target_agents}"});
  ASSERT_NE(a, nullptr);
  auto r = a->scale(make_request(2, 5, "dec-42"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(logged_args(), (std::vector<std::string>{"--replicas=5", "2", "3", "id=dec-42",
                                                     "/srv/coord/x", "55", "--"}));
}

TEST_F(CommandActuatorTest, ScaleReportsSummaryOutputAndInverse) {
  std::vector<std::string> tmpl = {script("orchestrator.sh"), log_.string(), "{target_agents}",
                                   "{current_agents}"};
  auto a = make(tmpl);
  ASSERT_NE(a, nullptr);
  auto r = a->scale(make_request(2, 5, "dec-1"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->summary, "scaled from 2 to 5 agents via " + script("orchestrator.sh"));
  EXPECT_EQ(r->output, "orchestrator: now 2 agents\n");
  EXPECT_EQ(r->inverse["kind"], "command");
  EXPECT_EQ(r->inverse["current_agents"], 5);
  EXPECT_EQ(r->inverse["target_agents"], 2);
  EXPECT_EQ(r->inverse["decision_id"], "dec-1");
  EXPECT_EQ(r->inverse["argv_template"], nlohmann::json(tmpl));
}

TEST_F(CommandActuatorTest, ScaleDownHasANegativeDelta) {
  auto a = make({script("orchestrator.sh"), log_.string(), "{delta}"});
  ASSERT_NE(a, nullptr);
  ASSERT_TRUE(a->scale(make_request(8, 5, "d")).ok());
  EXPECT_EQ(logged_args(), (std::vector<std::string>{"-3", "--"}));
}

TEST_F(CommandActuatorTest, SubstitutedValuesAreNeverShellInterpreted) {
  fs::path victim = dir_ / "pwned";
  std::string evil = "$(touch " + victim.string() + "); rm -rf / `id`";
  auto a = make({script("orchestrator.sh"), log_.string(), "{decision_id}"});
  ASSERT_NE(a, nullptr);
  ASSERT_TRUE(a->scale(make_request(1, 2, evil)).ok());
  EXPECT_EQ(logged_args(), (std::vector<std::string>{evil, "--"}));
  EXPECT_FALSE(fs::exists(victim));
}

TEST_F(CommandActuatorTest, NonZeroExitIsUnavailableWithTheLastLine) {
  auto a = make({script("fail.sh"), "{target_agents}"});
  ASSERT_NE(a, nullptr);
  auto r = a->scale(make_request(1, 2, "d"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(r.status().message(), script("fail.sh") + " exited with 4: boom: cluster unreachable");
}

TEST_F(CommandActuatorTest, MissingProgramIsUnavailable) {
  auto a = make({(dir_ / "no-such-orchestrator").string()});
  ASSERT_NE(a, nullptr);
  auto r = a->scale(make_request(1, 2, "d"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kUnavailable);
  EXPECT_NE(r.status().message().find("cannot start"), std::string::npos);
}

TEST_F(CommandActuatorTest, SlowCommandTimesOut) {
  auto a = make({script("slow.sh")}, 1s);
  ASSERT_NE(a, nullptr);
  auto start = std::chrono::steady_clock::now();
  auto r = a->scale(make_request(1, 2, "d"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kTimeout);
  EXPECT_NE(r.status().message().find("timed out after 1s"), std::string::npos);
}

TEST_F(CommandActuatorTest, UndoScalesBackToThePriorCount) {
  auto a = make({script("orchestrator.sh"), log_.string(), "{current_agents}", "{target_agents}",
                 "{decision_id}"});
  ASSERT_NE(a, nullptr);
  Actuator& actuator = *a;
  auto up = actuator.scale(make_request(2, 5, "dec-7"));
  ASSERT_TRUE(up.ok()) << up.status().message();
  auto back = actuator.undo(up->inverse);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->summary, "scaled from 5 to 2 agents via " + script("orchestrator.sh"));
  EXPECT_EQ(logged_args(),
            (std::vector<std::string>{"2", "5", "dec-7", "--", "5", "2", "undo-dec-7", "--"}));
  EXPECT_EQ(back->inverse["current_agents"], 2);
  EXPECT_EQ(back->inverse["target_agents"], 5);
}

TEST_F(CommandActuatorTest, UndoRejectsAForeignInverse) {
  auto a = make({"true"});
  ASSERT_NE(a, nullptr);
  for (const auto& bad :
       {nlohmann::json::object(), nlohmann::json::array(), nlohmann::json(3),
        nlohmann::json{{"kind", "process"}, {"current_agents", 1}, {"target_agents", 2}},
        nlohmann::json{{"kind", "command"}, {"current_agents", "1"}, {"target_agents", 2}},
        nlohmann::json{{"kind", "command"}, {"current_agents", -1}, {"target_agents", 2}},
        nlohmann::json{{"kind", 7}, {"current_agents", 1}, {"target_agents", 2}}}) {
    auto r = a->undo(bad);
    ASSERT_FALSE(r.ok()) << bad.dump();
    EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument) << bad.dump();
  }
}

TEST_F(CommandActuatorTest, OutputIsBounded) {
  write_script("loud.sh", "#!/bin/sh\nseq 1 100000\n");
  auto a = make({script("loud.sh")});
  ASSERT_NE(a, nullptr);
  auto r = a->scale(make_request(1, 2, "d"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->output.size(), CommandActuator::kMaxOutput);
  EXPECT_EQ(r->output.substr(r->output.size() - 7), "100000\n");
}

}  // namespace
}  // namespace dslmodel::actuate

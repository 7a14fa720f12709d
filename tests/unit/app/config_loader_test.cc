#include "app/config_loader.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>

namespace dslmodel::app {
namespace {

EnvLookup env_of(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

std::string write_toml(const std::string& name, const std::string& text) {
  auto p = std::filesystem::temp_directory_path() / name;
  std::ofstream(p) << text;
  return p.string();
}

TEST(ConfigLoader, DefaultsAreTheDesignDefaults) {
  Config c;
  EXPECT_EQ(c.gate.min_confidence, 0.6);
  EXPECT_EQ(c.policy.max_agents, 10);
  EXPECT_EQ(c.policy.min_agents, 1);
  EXPECT_EQ(c.policy.scale_down_delay, Seconds(300));
  EXPECT_EQ(c.policy.agent_timeout, Seconds(60));
  EXPECT_EQ(c.policy.repair_batch, 10);
  EXPECT_EQ(c.store.max_file_size, 1u << 20);
  EXPECT_EQ(c.coordination_dir, "coordination");
  EXPECT_TRUE(validate_config(c).ok());
}

TEST(ConfigLoader, EnvironmentVariablesApply) {
  Config c;
  ASSERT_TRUE(apply_environment(env_of({{"DSLMODEL_AUTO_MIN_CONFIDENCE", "0.8"},
                                        {"DSLMODEL_AUTO_MAX_AGENTS", "3"},
                                        {"DSLMODEL_AUTO_SCALE_FACTOR", "2"},
                                        {"DSLMODEL_AUTO_DRY_RUN", "true"},
                                        {"DSLMODEL_AUTO_LEADER_ELECTION", "yes"},
                                        {"DSLMODEL_COORDINATION_DIR", "/x"},
                                        {"LOGURU_LEVEL", "DEBUG"}}),
                                c)
                  .ok());
  EXPECT_EQ(c.gate.min_confidence, 0.8);
  EXPECT_EQ(c.policy.max_agents, 3);
  EXPECT_EQ(c.policy.scale_factor, 2.0);
  EXPECT_TRUE(c.gate.dry_run);
  EXPECT_TRUE(c.leader_election);
  EXPECT_EQ(c.coordination_dir, "/x");
  EXPECT_EQ(c.log_level, "debug");
}

TEST(ConfigLoader, BadEnvironmentValuesNameTheVariable) {
  const std::map<std::string, std::string> bad = {
      {"DSLMODEL_AUTO_MIN_CONFIDENCE", "high"}, {"DSLMODEL_AUTO_MAX_AGENTS", "0"},
      {"DSLMODEL_AUTO_MAX_AGENTS", "3.5"},      {"DSLMODEL_AUTO_SCALE_FACTOR", "-1"},
      {"DSLMODEL_AUTO_DRY_RUN", "perhaps"},     {"DSLMODEL_LOG_LEVEL", "loud"}};
  for (const auto& [k, v] : bad) {
    Config c;
    Status s = apply_environment(env_of({{k, v}}), c);
    ASSERT_FALSE(s.ok()) << k << "=" << v;
    EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(s.message().find(k), std::string::npos) << s.message();
  }
}

TEST(ConfigLoader, FileSettingsApply) {
  Config c;
  auto p = write_toml("dsl-ok.toml", R"(
coordination_dir = "/srv/coord"
[engine]
min_confidence = 0.7
dry_run = true
[policy]
max_agents = 20
agent_timeout = 30
[actuator]
scale_command = ["kubectl", "scale", "deployment/agents", "--replicas={target_agents}"]
timeout = 15
[labels]
environment = "production"
)");
  ASSERT_TRUE(apply_config_file(p, c).ok());
  EXPECT_EQ(c.coordination_dir, "/srv/coord");
  EXPECT_EQ(c.gate.min_confidence, 0.7);
  EXPECT_TRUE(c.gate.dry_run);
  EXPECT_EQ(c.policy.max_agents, 20);
  EXPECT_EQ(c.policy.agent_timeout, Seconds(30));
  ASSERT_EQ(c.actuator.scale_command.size(), 4u);
  EXPECT_EQ(c.actuator.timeout, Seconds(15));
  EXPECT_EQ(c.labels["environment"], "production");
}

TEST(ConfigLoader, FileErrorsNameFileLineAndKey) {
  struct Case {
    std::string text;
    std::string expect;
  };
  for (const auto& tc : std::vector<Case>{
           {"[policy]\nmax_agentz = 3\n", ":2: unknown key 'policy.max_agentz'"},
           {"[policy]\n\nmax_agents = \"x\"\n", ":3: invalid value for 'policy.max_agents'"},
           {"[engine]\nmin_confidence = 2.0\n", ":2: invalid value for 'engine.min_confidence'"},
           {"[policy\n", ":1:"},
           {"[actuator]\nscale_command = [1, 2]\n", ":2:"}}) {
    Config c;
    auto p = write_toml("dsl-bad.toml", tc.text);
    Status s = apply_config_file(p, c);
    ASSERT_FALSE(s.ok()) << tc.text;
    EXPECT_NE(s.message().find(tc.expect), std::string::npos) << s.message();
  }
  Config c;
  EXPECT_EQ(apply_config_file("/nonexistent.toml", c).code(), ErrorCode::kNotFound);
}

TEST(ConfigLoader, ValidationRejectsInconsistentSettings) {
  Config c;
  c.policy.min_agents = 5;
  c.policy.max_agents = 3;
  EXPECT_FALSE(validate_config(c).ok());
}

}  // namespace
}  // namespace dslmodel::app

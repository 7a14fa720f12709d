#include "dslmodel/config_loader.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <utility>
#include <vector>

#include "unit/config/config_test_util.h"

namespace dslmodel {
namespace {

using testing_util::env_of;
using testing_util::write_toml;

TEST(ConfigLoader, DefaultsAreTheDesignDefaults) {
  Config c;
  EXPECT_EQ(c.gate.min_confidence, 0.6);
  EXPECT_EQ(c.policy.max_agents, 10);
  EXPECT_EQ(c.policy.min_agents, 1);
  EXPECT_EQ(c.policy.scale_down_delay, Seconds(300));
  EXPECT_EQ(c.policy.agent_timeout, Seconds(60));
  EXPECT_EQ(c.policy.repair_batch, 10);
  EXPECT_EQ(c.store.max_file_size, 1u << 20);
  EXPECT_FALSE(c.store.watch);
  EXPECT_EQ(c.store.full_rescan_interval, Seconds(300));
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
[store]
full_rescan_interval = 0
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
  EXPECT_EQ(c.store.full_rescan_interval, Seconds(0));
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

// Every integer setting is range-checked before it is narrowed: 2^32 + 1 agents is not 1 agent,
// 2^32 repairs per batch are not 0, and a timeout whose nanoseconds overflow is not an instant
// timeout.
TEST(ConfigLoader, IntegersOutOfRangeAreRejectedNotTruncated) {
  struct Case {
    std::string text;
    std::string expect;
  };
  for (const auto& tc : std::vector<Case>{
           {"[policy]\nmax_agents = 4294967297\n",
            ":2: invalid value for 'policy.max_agents': expected an integer from 1 to 100000, got "
            "4294967297"},
           {"[policy]\nrepair_batch = 4294967296\n",
            ":2: invalid value for 'policy.repair_batch': expected an integer from 1 to 100000, "
            "got 4294967296"},
           {"[policy]\n\nagent_timeout = 9223372037\n",
            ":3: invalid value for 'policy.agent_timeout': expected a whole number of seconds "
            "from 1 to 315360000, got 9223372037"},
           {"[policy]\nmin_agents = -1\n", "'policy.min_agents': expected an integer from 0"},
           {"[engine]\nmax_decisions = 2147483648\n", "'engine.max_decisions'"},
           {"[engine]\nlease_ttl = 0\n", "'engine.lease_ttl'"},
           {"[store]\nmax_file_size = 9223372036854775807\n", "'store.max_file_size'"},
           {"[store]\nfull_rescan_interval = -1\n", "'store.full_rescan_interval'"},
           {"[policy]\ndefault_service_time_ms = 9223372036854775807\n",
            "'policy.default_service_time_ms'"},
           {"[actuator]\ntimeout = 9999999999\n", "'actuator.timeout'"}}) {
    Config c;
    auto p = write_toml("dsl-range.toml", tc.text);
    Status s = apply_config_file(p, c);
    ASSERT_FALSE(s.ok()) << tc.text;
    EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(s.message().find(tc.expect), std::string::npos) << s.message();
  }
  for (const char* v : {"4294967297", "0", "99999999999999999999", "-3"}) {
    Config c;
    Status s = apply_environment(env_of({{"DSLMODEL_AUTO_MAX_AGENTS", v}}), c);
    ASSERT_FALSE(s.ok()) << v;
    EXPECT_NE(s.message().find("expected an integer from 1 to 100000"), std::string::npos)
        << s.message();
    EXPECT_EQ(c.policy.max_agents, 10) << "left as it was";
  }
  // The largest values in range are taken as they are.
  Config c;
  auto p = write_toml("dsl-range-ok.toml",
                      "[policy]\nmax_agents = 100000\nagent_timeout = 315360000\n"
                      "[engine]\nmax_decisions = 0\n");
  ASSERT_TRUE(apply_config_file(p, c).ok());
  EXPECT_EQ(c.policy.max_agents, 100000);
  EXPECT_EQ(c.policy.agent_timeout, Seconds(315360000));
  EXPECT_EQ(c.gate.max_decisions, 0);
  // A duration at the top of its range still fits a clock's nanoseconds from now.
  const auto later = std::chrono::system_clock::now() + c.policy.agent_timeout;
  EXPECT_GT(later, std::chrono::system_clock::now());
}

// NaN passes every "lo <= x <= hi" test that is written as "not (x < lo or x > hi)".
TEST(ConfigLoader, NanAndInfinityAreRejected) {
  for (const std::string& text :
       {"[engine]\nmin_confidence = nan\n", "[engine]\nmin_confidence = -nan\n",
        "[health]\nqueue_weight = inf\n", "[health]\nagent_saturation = +inf\n",
        "[policy]\nscale_factor = nan\n", "[policy]\ntarget_utilization = -inf\n"}) {
    Config c;
    auto p = write_toml("dsl-nan.toml", text);
    Status s = apply_config_file(p, c);
    ASSERT_FALSE(s.ok()) << text;
    EXPECT_NE(s.message().find("dsl-nan.toml:2: invalid value for"), std::string::npos)
        << s.message();
    EXPECT_NE(s.message().find("expected a number from"), std::string::npos) << s.message();
  }
  for (const auto& [name, value] : std::vector<std::pair<std::string, std::string>>{
           {"DSLMODEL_AUTO_MIN_CONFIDENCE", "nan"},
           {"DSLMODEL_AUTO_MIN_CONFIDENCE", "NaN"},
           {"DSLMODEL_AUTO_SCALE_FACTOR", "inf"},
           {"DSLMODEL_AUTO_SCALE_FACTOR", "infinity"}}) {
    Config c;
    Status s = apply_environment(env_of({{name, value}}), c);
    ASSERT_FALSE(s.ok()) << name << "=" << value;
    EXPECT_NE(s.message().find(name + "='" + value + "'"), std::string::npos) << s.message();
  }
  Config c;
  EXPECT_EQ(c.gate.min_confidence, 0.6);
}

// `DSLMODEL_AUTO_DRY_RUN=` (set, but empty) is unset: it never turns a dry run into a live one.
TEST(ConfigLoader, EmptyEnvironmentVariableIsUnset) {
  Config c;
  auto p = write_toml("dsl-dry.toml",
                      "coordination_dir = \"/from/file\"\nlog_level = \"info\"\n"
                      "[engine]\ndry_run = true\nleader_election = true\nmin_confidence = 0.7\n"
                      "[policy]\nmax_agents = 7\nscale_factor = 2.0\n");
  ASSERT_TRUE(apply_config_file(p, c).ok());
  const Config from_file = c;
  std::map<std::string, std::string> empty;
  for (const char* name :
       {"DSLMODEL_AUTO_DRY_RUN", "DSLMODEL_AUTO_LEADER_ELECTION", "DSLMODEL_AUTO_MIN_CONFIDENCE",
        "DSLMODEL_AUTO_MAX_AGENTS", "DSLMODEL_AUTO_SCALE_FACTOR", "DSLMODEL_COORDINATION_DIR",
        "DSLMODEL_STORE", "DSLMODEL_LOG_LEVEL", "LOGURU_LEVEL"}) {
    empty[name] = "";
  }
  ASSERT_TRUE(apply_environment(env_of(empty), c).ok());
  EXPECT_TRUE(c.gate.dry_run);
  EXPECT_TRUE(c.leader_election);
  EXPECT_EQ(c.gate.min_confidence, from_file.gate.min_confidence);
  EXPECT_EQ(c.policy.max_agents, 7);
  EXPECT_EQ(c.policy.scale_factor, 2.0);
  EXPECT_EQ(c.coordination_dir, "/from/file");
  EXPECT_EQ(c.store.url, "");
  EXPECT_EQ(c.log_level, "info");
  // A set value still overrides, both ways.
  ASSERT_TRUE(apply_environment(env_of({{"DSLMODEL_AUTO_DRY_RUN", "false"}}), c).ok());
  EXPECT_FALSE(c.gate.dry_run);
  EXPECT_FALSE(parse_bool("").has_value());
}

// A constant label name that is not a Prometheus label name would break every scrape.
TEST(ConfigLoader, LabelNamesFollowThePrometheusGrammar) {
  for (const auto& [text, why] : std::vector<std::pair<std::string, std::string>>{
           {"[labels]\n\"a\\\"b\" = \"x\"\n", "[a-zA-Z_][a-zA-Z0-9_]*"},
           {"[labels]\n\"1abc\" = \"x\"\n", "[a-zA-Z_][a-zA-Z0-9_]*"},
           {"[labels]\n\"env-name\" = \"x\"\n", "[a-zA-Z_][a-zA-Z0-9_]*"},
           {"[labels]\n\"\" = \"x\"\n", "[a-zA-Z_][a-zA-Z0-9_]*"},
           {"[labels]\n\"na\\u00efve\" = \"x\"\n", "[a-zA-Z_][a-zA-Z0-9_]*"},
           {"[labels]\n__name__ = \"x\"\n", "reserved"},
           {"[labels]\ntype = \"x\"\n", "\"type\""},
           {"[labels]\nle = \"x\"\n", "\"le\""}}) {
    Config c;
    auto p = write_toml("dsl-labels.toml", text);
    Status s = apply_config_file(p, c);
    ASSERT_FALSE(s.ok()) << text;
    EXPECT_NE(s.message().find("dsl-labels.toml:2: invalid label name"), std::string::npos)
        << s.message();
    EXPECT_NE(s.message().find(why), std::string::npos) << s.message();
  }
  Config c;
  auto p = write_toml("dsl-labels-ok.toml",
                      "[labels]\nenvironment = \"production \\\"eu\\\"\"\n_zone2 = \"b\"\n");
  ASSERT_TRUE(apply_config_file(p, c).ok());
  EXPECT_EQ(c.labels.at("environment"), "production \"eu\"");
  EXPECT_EQ(c.labels.at("_zone2"), "b");
}

}  // namespace
}  // namespace dslmodel

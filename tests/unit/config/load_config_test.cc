// load_config and apply_file_and_environment: defaults < file < environment, then validation
// (dslmodel/config_loader.h, docs/configuration.md).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "dslmodel/config_loader.h"
#include "unit/config/config_test_util.h"

namespace dslmodel {
namespace {

using testing_util::env_of;
using testing_util::write_toml;

TEST(LoadConfig, WithoutFileOrEnvironmentIsTheDefaults) {
  Result<Config> c = load_config(std::nullopt, env_of({}));
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->gate.min_confidence, Config{}.gate.min_confidence);
  EXPECT_EQ(c->coordination_dir, "coordination");
}

TEST(LoadConfig, TheEnvironmentOverridesTheFile) {
  const std::string p = write_toml("dsl-load-layers.toml",
                                   "coordination_dir = \"/srv/coord\"\n"
                                   "[engine]\nmin_confidence = 0.7\n[policy]\nmax_agents = 20\n");
  Result<Config> from_file = load_config(p, env_of({}));
  ASSERT_TRUE(from_file.ok()) << from_file.status().message();
  EXPECT_EQ(from_file->gate.min_confidence, 0.7);
  EXPECT_EQ(from_file->policy.max_agents, 20);

  Result<Config> both = load_config(p, env_of({{"DSLMODEL_AUTO_MIN_CONFIDENCE", "0.9"}}));
  ASSERT_TRUE(both.ok()) << both.status().message();
  EXPECT_EQ(both->gate.min_confidence, 0.9);
  EXPECT_EQ(both->policy.max_agents, 20);
  EXPECT_EQ(both->coordination_dir, "/srv/coord");
}

TEST(LoadConfig, DslmodelConfigNamesTheFileWhenNoneIsGiven) {
  const std::string p = write_toml("dsl-load-env.toml", "[engine]\nmin_confidence = 0.75\n");
  const std::string other = write_toml("dsl-load-other.toml", "[engine]\nmin_confidence = 0.5\n");
  Result<Config> c = load_config(std::nullopt, env_of({{"DSLMODEL_CONFIG", p}}));
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->gate.min_confidence, 0.75);
  // An empty file name is no file: $DSLMODEL_CONFIG still applies.
  Result<Config> empty = load_config(std::string(), env_of({{"DSLMODEL_CONFIG", p}}));
  ASSERT_TRUE(empty.ok()) << empty.status().message();
  EXPECT_EQ(empty->gate.min_confidence, 0.75);
  // A file given explicitly wins over $DSLMODEL_CONFIG.
  Result<Config> given = load_config(other, env_of({{"DSLMODEL_CONFIG", p}}));
  ASSERT_TRUE(given.ok()) << given.status().message();
  EXPECT_EQ(given->gate.min_confidence, 0.5);
}

TEST(LoadConfig, FailuresNameTheirSource) {
  Result<Config> missing = load_config("/nonexistent/dsl.toml", env_of({}));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), ErrorCode::kNotFound);

  Result<Config> bad_env = load_config(std::nullopt, env_of({{"DSLMODEL_AUTO_MAX_AGENTS", "0"}}));
  ASSERT_FALSE(bad_env.ok());
  EXPECT_EQ(bad_env.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(bad_env.status().message().find("DSLMODEL_AUTO_MAX_AGENTS"), std::string::npos);

  // Each layer is valid alone; together they are not, and validation says so.
  const std::string p = write_toml("dsl-load-min.toml", "[policy]\nmin_agents = 5\n");
  Result<Config> inconsistent = load_config(p, env_of({{"DSLMODEL_AUTO_MAX_AGENTS", "3"}}));
  ASSERT_FALSE(inconsistent.ok());
  EXPECT_NE(inconsistent.status().message().find("min_agents"), std::string::npos);
}

TEST(LoadConfig, LayersWithoutValidationLeaveTheCheckToTheCaller) {
  Config c;
  const std::string p = write_toml("dsl-load-min2.toml", "[policy]\nmin_agents = 5\n");
  ASSERT_TRUE(apply_file_and_environment(p, env_of({{"DSLMODEL_AUTO_MAX_AGENTS", "3"}}), c).ok());
  EXPECT_EQ(c.policy.min_agents, 5);
  EXPECT_EQ(c.policy.max_agents, 3);
  EXPECT_FALSE(validate_config(c).ok());
}

}  // namespace
}  // namespace dslmodel

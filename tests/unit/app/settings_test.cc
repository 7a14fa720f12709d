#include "app/settings.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "dslmodel/time.h"

namespace dslmodel::app {
namespace {

using Mode = RemediationSetting::Mode;

RemediationSetting of(Mode m) {
  RemediationSetting s;
  s.mode = m;
  return s;
}

class SettingsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "dsl-settings-XXXXXX").string();
    dir_ = mkdtemp(tmpl.data());
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  void write_settings(const std::string& text) {
    std::filesystem::create_directories(dir_ / ".dsl");
    std::ofstream(settings_path(dir_)) << text;
  }
  std::string read_settings() const {
    std::ifstream in(settings_path(dir_));
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  std::filesystem::path dir_;
};

TEST_F(SettingsTest, MissingFileAndDirectoryAreUnset) {
  auto s = load_remediation(dir_);
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->mode, Mode::kUnset);
  EXPECT_FALSE(s->changed_at);
  write_settings(R"({"other": 1})");
  auto t = load_remediation(dir_);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->mode, Mode::kUnset);
}

TEST_F(SettingsTest, EveryModeRoundTripsAndCreatesTheDirectory) {
  const TimePoint at = *parse_iso8601("2025-06-27T15:41:04.944Z");
  for (Mode m : {Mode::kDisabled, Mode::kDryRun, Mode::kLive}) {
    RemediationSetting in{.mode = m, .changed_at = at};
    ASSERT_TRUE(save_remediation(dir_, in).ok());
    auto out = load_remediation(dir_);
    ASSERT_TRUE(out.ok()) << out.status().message();
    EXPECT_EQ(*out, in) << mode_name(m);
  }
}

TEST_F(SettingsTest, FileShapeIsTheDocumentedOne) {
  const TimePoint at = *parse_iso8601("2025-06-27T15:41:04.944Z");
  ASSERT_TRUE(save_remediation(dir_, {.mode = Mode::kDryRun, .changed_at = at}).ok());
  nlohmann::json j = nlohmann::json::parse(read_settings());
  EXPECT_EQ(j, nlohmann::json::parse(R"({"remediation":{"enabled":true,"live":false,
                                         "changed_at":"2025-06-27T15:41:04.944Z"}})"));
}

TEST_F(SettingsTest, SavingKeepsOtherKeysAndUnsetRemovesTheSwitch) {
  write_settings(R"({"other": {"x": 1}, "remediation": {"enabled": false, "live": false}})");
  ASSERT_TRUE(save_remediation(dir_, of(Mode::kLive)).ok());
  nlohmann::json j = nlohmann::json::parse(read_settings());
  EXPECT_EQ(j["other"]["x"], 1);
  EXPECT_EQ(j["remediation"]["live"], true);
  ASSERT_TRUE(save_remediation(dir_, RemediationSetting{}).ok());
  j = nlohmann::json::parse(read_settings());
  EXPECT_FALSE(j.contains("remediation"));
  EXPECT_EQ(j["other"]["x"], 1);
}

TEST_F(SettingsTest, CorruptFilesAreErrorsNamingTheFile) {
  const char* cases[] = {
      "{not json",
      "[1,2]",
      R"({"remediation": true})",
      R"({"remediation": {"live": true}})",
      R"({"remediation": {"enabled": "yes"}})",
      R"({"remediation": {"enabled": true, "live": 1}})",
      R"({"remediation": {"enabled": true, "changed_at": "yesterday"}})",
      R"({"remediation": {"enabled": true, "changed_at": 5}})",
  };
  for (const char* text : cases) {
    write_settings(text);
    auto s = load_remediation(dir_);
    ASSERT_FALSE(s.ok()) << text;
    EXPECT_EQ(s.status().code(), ErrorCode::kCorrupt) << text;
    EXPECT_NE(s.status().message().find(settings_path(dir_).string()), std::string::npos)
        << s.status().message();
  }
}

TEST_F(SettingsTest, ACorruptFileIsReplacedBySaving) {
  write_settings("{not json");
  ASSERT_TRUE(save_remediation(dir_, of(Mode::kDisabled)).ok());
  auto s = load_remediation(dir_);
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->mode, Mode::kDisabled);
}

TEST_F(SettingsTest, SymlinkIsRefused) {
  std::filesystem::create_directories(dir_ / ".dsl");
  std::ofstream(dir_ / "target.json") << R"({"remediation":{"enabled":true,"live":true}})";
  std::filesystem::create_symlink(dir_ / "target.json", settings_path(dir_));
  auto s = load_remediation(dir_);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("symlink"), std::string::npos) << s.status().message();
}

TEST(RemediationJson, ReportsEachMode) {
  using nlohmann::json;
  EXPECT_EQ(remediation_json({}),
            json::parse(R"({"enabled":null,"live":null,"mode":"unset","changed_at":null})"));
  EXPECT_EQ(remediation_json(of(Mode::kDisabled))["enabled"], false);
  EXPECT_EQ(remediation_json(of(Mode::kDisabled))["mode"], "disabled");
  EXPECT_EQ(remediation_json(of(Mode::kDryRun))["live"], false);
  EXPECT_EQ(remediation_json(of(Mode::kDryRun))["mode"], "dry_run");
  json live = remediation_json(of(Mode::kLive));
  EXPECT_EQ(live["enabled"], true);
  EXPECT_EQ(live["live"], true);
  EXPECT_EQ(live["mode"], "live");
}

struct EffectCase {
  Mode mode;
  bool configured_dry_run;
  bool enabled;
  bool dry_run;
};

TEST(RemediationEffect, Table) {
  const EffectCase cases[] = {
      {Mode::kUnset, false, true, false},     {Mode::kUnset, true, true, true},
      {Mode::kDisabled, false, false, false}, {Mode::kDisabled, true, false, true},
      {Mode::kDryRun, false, true, true},     {Mode::kDryRun, true, true, true},
      {Mode::kLive, false, true, false},      {Mode::kLive, true, true, true},
  };
  for (const EffectCase& c : cases) {
    RemediationEffect e = remediation_effect(of(c.mode), c.configured_dry_run);
    EXPECT_EQ(e.remediation_enabled, c.enabled) << mode_name(c.mode) << c.configured_dry_run;
    EXPECT_EQ(e.dry_run, c.dry_run) << mode_name(c.mode) << c.configured_dry_run;
  }
}

}  // namespace
}  // namespace dslmodel::app

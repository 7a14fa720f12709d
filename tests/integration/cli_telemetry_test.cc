// The dsl binary's telemetry group: the persisted remediation switch.
#include <gtest/gtest.h>

#include "integration/dsl_runner.h"

namespace dslmodel::testing {
namespace {

nlohmann::json settings_of(const TempDir& d) {
  return nlohmann::json::parse(slurp(d / ".dsl/settings.json"), nullptr, false);
}

TEST(CliTelemetry, EnableWithoutLiveIsADryRun) {
  TempDir d;
  DslRun r = run_dsl({"telemetry", "enable-remediation", "-c", d.path().string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("dry run"), std::string::npos) << r.out;
  nlohmann::json s = settings_of(d);
  ASSERT_TRUE(s.is_object()) << slurp(d / ".dsl/settings.json");
  EXPECT_EQ(s["remediation"]["enabled"], true);
  EXPECT_EQ(s["remediation"]["live"], false);
  EXPECT_TRUE(s["remediation"]["changed_at"].is_string());
}

TEST(CliTelemetry, EnableLiveThenDisable) {
  TempDir d;
  DslRun live = run_dsl({"-c", d.path().string(), "telemetry", "enable-remediation", "--live"});
  ASSERT_EQ(live.exit_code, 0) << live.err;
  EXPECT_NE(live.out.find("live"), std::string::npos) << live.out;
  EXPECT_EQ(settings_of(d)["remediation"]["live"], true);
  EXPECT_EQ(settings_of(d)["remediation"]["enabled"], true);

  DslRun off = run_dsl({"telemetry", "disable-remediation"},
                       {"DSLMODEL_COORDINATION_DIR=" + d.path().string()});
  ASSERT_EQ(off.exit_code, 0) << off.err;
  EXPECT_NE(off.out.find("disabled"), std::string::npos) << off.out;
  EXPECT_EQ(settings_of(d)["remediation"]["enabled"], false);
  EXPECT_EQ(settings_of(d)["remediation"]["live"], false);
}

TEST(CliTelemetry, JsonEnvelopes) {
  TempDir d;
  DslRun en =
      run_dsl({"--json", "telemetry", "enable-remediation", "--live", "-c", d.path().string()});
  ASSERT_EQ(en.exit_code, 0) << en.err;
  nlohmann::json j = en.json();
  ASSERT_TRUE(j.is_object()) << en.out;
  EXPECT_EQ(j["command"], "telemetry-enable-remediation");
  EXPECT_EQ(j["success"], true);
  EXPECT_EQ(j["errors"], nlohmann::json::array());
  EXPECT_EQ(j["data"]["remediation"]["enabled"], true);
  EXPECT_EQ(j["data"]["remediation"]["live"], true);
  EXPECT_EQ(j["data"]["remediation"]["mode"], "live");

  DslRun dry = run_dsl({"--json", "telemetry", "enable-remediation", "-c", d.path().string()});
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  EXPECT_EQ(dry.json()["data"]["remediation"]["mode"], "dry_run");
  EXPECT_EQ(dry.json()["data"]["remediation"]["live"], false);

  DslRun off = run_dsl({"--json", "telemetry", "disable-remediation", "-c", d.path().string()});
  ASSERT_EQ(off.exit_code, 0) << off.err;
  j = off.json();
  EXPECT_EQ(j["command"], "telemetry-disable-remediation");
  EXPECT_EQ(j["data"]["remediation"]["enabled"], false);
  EXPECT_EQ(j["data"]["remediation"]["live"], false);
  EXPECT_EQ(j["data"]["remediation"]["mode"], "disabled");
}

TEST(CliTelemetry, KeepsOtherSettingsAndReplacesACorruptFile) {
  TempDir d;
  write_file(d / ".dsl/settings.json", R"({"other": 7})");
  ASSERT_EQ(run_dsl({"telemetry", "disable-remediation", "-c", d.path().string()}).exit_code, 0);
  EXPECT_EQ(settings_of(d)["other"], 7);
  write_file(d / ".dsl/settings.json", "{corrupt");
  DslRun r = run_dsl({"telemetry", "disable-remediation", "-c", d.path().string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(settings_of(d)["remediation"]["enabled"], false);
}

TEST(CliTelemetry, MissingDirectoryExitsOne) {
  DslRun r = run_dsl({"telemetry", "enable-remediation", "-c", "/nonexistent/coord"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("coordination directory not found: /nonexistent/coord"), std::string::npos)
      << r.err;
  DslRun j = run_dsl({"--json", "telemetry", "disable-remediation", "-c", "/nonexistent/coord"});
  EXPECT_EQ(j.exit_code, 1);
  EXPECT_EQ(j.json()["success"], false);
  EXPECT_EQ(j.json()["command"], "telemetry-disable-remediation");
  EXPECT_FALSE(std::filesystem::exists("/nonexistent/coord"));
}

TEST(CliTelemetry, HelpExplainsUnset) {
  DslRun r = run_dsl({"telemetry", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("unset"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("own configuration"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("--live"), std::string::npos) << r.out;
  DslRun none = run_dsl({"telemetry"});
  EXPECT_EQ(none.exit_code, 2);
}

}  // namespace
}  // namespace dslmodel::testing

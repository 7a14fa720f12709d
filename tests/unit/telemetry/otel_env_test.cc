#include "telemetry/otel_env.h"

#include <gtest/gtest.h>

#include <map>

namespace dslmodel::telemetry {
namespace {

EnvLookup env_of(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& k) -> std::optional<std::string> {
    auto it = vars.find(k);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

TEST(OtelEnv, DefaultsWhenNothingIsSet) {
  auto s = otel_settings_from_env(env_of({}));
  ASSERT_TRUE(s.ok());
  EXPECT_FALSE(s->disabled);
  EXPECT_TRUE(s->traces_endpoint.empty());
  EXPECT_EQ(s->resource.service_name, "dslmodel");
  EXPECT_TRUE(s->resource.attributes.empty());
}

TEST(OtelEnv, EndpointRules) {
  struct Case {
    std::map<std::string, std::string> vars;
    std::string want;
  };
  const std::vector<Case> cases = {
      {{{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"}}, "http://c:4318/v1/traces"},
      {{{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318/"}}, "http://c:4318/v1/traces"},
      {{{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318/otlp/"}}, "http://c:4318/otlp/v1/traces"},
      {{{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://t:1/custom"},
        {"OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"}},
       "http://t:1/custom"},
      {{{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", ""}, {"OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:2"}},
       "http://c:2/v1/traces"},
      {{{"OTEL_EXPORTER_OTLP_ENDPOINT", ""}}, ""},
  };
  for (const auto& c : cases) {
    auto s = otel_settings_from_env(env_of(c.vars));
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(s->traces_endpoint, c.want);
  }
}

TEST(OtelEnv, Disabled) {
  EXPECT_TRUE(otel_settings_from_env(env_of({{"OTEL_SDK_DISABLED", "true"}}))->disabled);
  EXPECT_TRUE(otel_settings_from_env(env_of({{"OTEL_SDK_DISABLED", "TRUE"}}))->disabled);
  EXPECT_FALSE(otel_settings_from_env(env_of({{"OTEL_SDK_DISABLED", "false"}}))->disabled);
  auto bad = otel_settings_from_env(env_of({{"OTEL_SDK_DISABLED", "maybe"}}));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("OTEL_SDK_DISABLED"), std::string::npos);
}

TEST(OtelEnv, ServiceNameAndResourceAttributes) {
  auto s = otel_settings_from_env(
      env_of({{"OTEL_SERVICE_NAME", "swarm"},
              {"OTEL_RESOURCE_ATTRIBUTES",
               " deployment.environment=production , team=a%20b%2Cc,,service.name=other"}}));
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->resource.service_name, "swarm");
  using Attr = std::pair<std::string, std::string>;
  EXPECT_EQ(s->resource.attributes,
            (std::vector<Attr>{{"deployment.environment", "production"}, {"team", "a b,c"}}));
}

TEST(OtelEnv, ServiceNameFromResourceAttributesWhenNotSetDirectly) {
  auto s = otel_settings_from_env(env_of({{"OTEL_RESOURCE_ATTRIBUTES", "service.name=x"}}));
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->resource.service_name, "x");
  EXPECT_TRUE(s->resource.attributes.empty());
}

TEST(OtelEnv, MalformedResourceAttributesNameTheVariable) {
  for (const char* bad : {"novalue", "=v", "k=%zz", "k=%4"}) {
    auto s = otel_settings_from_env(env_of({{"OTEL_RESOURCE_ATTRIBUTES", bad}}));
    ASSERT_FALSE(s.ok()) << bad;
    EXPECT_EQ(s.status().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(s.status().message().find("OTEL_RESOURCE_ATTRIBUTES"), std::string::npos);
  }
}

}  // namespace
}  // namespace dslmodel::telemetry

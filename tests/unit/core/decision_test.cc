// normalize_decisions() and the Decision JSON shape (docs/policy.md).
#include "dslmodel/decision.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "dslmodel/policy.h"
#include "dslmodel/time.h"

namespace dslmodel {
namespace {

Decision scale(std::string_view type, int priority, std::int64_t current, std::int64_t target) {
  Decision d;
  d.type = std::string(type);
  d.priority = priority;
  d.confidence = 0.9;
  d.scale = ScaleTarget{target, current};
  return d;
}

// A scale decision as custom code may write it: the payload in parameters.
Decision custom_scale(std::string_view type, int priority, nlohmann::json parameters) {
  Decision d;
  d.type = std::string(type);
  d.priority = priority;
  d.confidence = 0.9;
  d.parameters = std::move(parameters);
  return d;
}

Decision other(std::string type, int priority) {
  Decision d;
  d.type = std::move(type);
  d.priority = priority;
  return d;
}

TEST(Normalize, SortsByPriorityStably) {
  const auto out =
      normalize_decisions({other("a", 1), other("b", 5), other("c", 5), other("d", 9)}, Config{});
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[0].type, "d");
  EXPECT_EQ(out[1].type, "b");
  EXPECT_EQ(out[2].type, "c");
  EXPECT_EQ(out[3].type, "a");
}

TEST(Normalize, KeepsOnlyFirstScaleDecision) {
  const auto out =
      normalize_decisions({scale(decision_type::kScaleDown, 4, 5, 1),
                           scale(decision_type::kScaleUp, 10, 5, 8), other("optimize", 3)},
                          Config{});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].type, "scale_up");
  EXPECT_EQ(out[1].type, "optimize");
}

TEST(Normalize, ClampsTargetsAndUpdatesDelta) {
  auto out = normalize_decisions({scale(decision_type::kScaleUp, 5, 4, 50)}, Config{});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].scale->target_agents, 10);
  EXPECT_EQ(parameters_json(out[0])["delta"], 6);
  out = normalize_decisions({scale(decision_type::kScaleDown, 5, 4, -3)}, Config{});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].scale->target_agents, 1);
  EXPECT_EQ(parameters_json(out[0])["delta"], -3);
}

TEST(Normalize, DropsNoOpsAndWrongDirections) {
  Config cfg;
  EXPECT_TRUE(normalize_decisions({scale(decision_type::kScaleUp, 5, 10, 12)}, cfg).empty());
  EXPECT_TRUE(normalize_decisions({scale(decision_type::kScaleDown, 5, 4, 4)}, cfg).empty());
  EXPECT_TRUE(normalize_decisions({scale(decision_type::kScaleUp, 5, 4, 2)}, cfg).empty());
  EXPECT_TRUE(normalize_decisions({scale(decision_type::kScaleDown, 5, 4, 6)}, cfg).empty());
  Decision no_target = other("scale_up", 5);
  EXPECT_TRUE(normalize_decisions({no_target}, cfg).empty());
  // A no-op first scale decision leaves room for the next valid one.
  const auto out = normalize_decisions(
      {scale(decision_type::kScaleUp, 9, 10, 11), scale(decision_type::kScaleDown, 4, 10, 5)}, cfg);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].type, "scale_down");
}

TEST(Normalize, ClampsConfidence) {
  Decision a = other("x", 1);
  a.confidence = 1.7;
  Decision b = other("y", 1);
  b.confidence = -0.2;
  const auto out = normalize_decisions({a, b}, Config{});
  EXPECT_EQ(out[0].confidence, 1.0);
  EXPECT_EQ(out[1].confidence, 0.0);
}

TEST(DecisionJson, ShapeAndRoundTrip) {
  Decision d = scale(decision_type::kScaleUp, 10, 2, 5);
  d.id = "dec-1-1";
  d.rationale = "why";
  d.reason = "critical_backlog";
  d.created_at = *parse_iso8601("2025-06-27T15:41:04.944Z");
  const nlohmann::json j = to_json(d);
  for (const char* key : {"id", "type", "priority", "confidence", "rationale", "reason",
                          "parameters", "created_at"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  EXPECT_EQ(j.size(), 8u);
  EXPECT_EQ(j["created_at"], "2025-06-27T15:41:04.944Z");
  EXPECT_EQ(j["type"], "scale_up");
  const auto back = decision_from_json(j);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(to_json(*back), j);
  EXPECT_EQ(back->created_at, d.created_at);
}

TEST(Normalize, LiftsAPayloadWrittenAsParameters) {
  const auto out = normalize_decisions(
      {custom_scale(
          decision_type::kScaleUp, 5,
          {{"current_agents", 4}, {"target_agents", 7.4}, {"delta", 99}, {"why", "mine"}})},
      Config{});
  ASSERT_EQ(out.size(), 1u);
  ASSERT_TRUE(out[0].scale.has_value());
  EXPECT_EQ(out[0].scale->target_agents, 7);
  EXPECT_EQ(out[0].scale->current_agents, 4);
  EXPECT_EQ(out[0].parameters, (nlohmann::json{{"why", "mine"}}));
  EXPECT_EQ(parameters_json(out[0])["delta"], 3);
  // Without a current count the clamped target goes to the actuator as it is.
  const auto bare = normalize_decisions(
      {custom_scale(decision_type::kScaleDown, 5, {{"target_agents", -4}})}, Config{});
  ASSERT_EQ(bare.size(), 1u);
  EXPECT_EQ(bare[0].scale->target_agents, 1);
  EXPECT_FALSE(bare[0].scale->current_agents.has_value());
  EXPECT_FALSE(parameters_json(bare[0]).contains("delta"));
}

TEST(Normalize, SaysWhyItDropsADecision) {
  std::vector<DroppedDecision> dropped;
  const auto out = normalize_decisions(
      {custom_scale(decision_type::kScaleUp, 50, {{"count", 3}}),
       custom_scale(decision_type::kScaleUp, 40, {{"target_agents", "many"}}),
       scale(decision_type::kScaleUp, 30, 10, 12), scale(decision_type::kScaleUp, 20, 2, 5),
       scale(decision_type::kScaleDown, 10, 5, 4), other("optimize", 1)},
      Config{}, &dropped);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].scale->target_agents, 5);
  EXPECT_EQ(out[1].type, "optimize");
  ASSERT_EQ(dropped.size(), 4u);
  EXPECT_THAT(dropped[0].why, testing::HasSubstr("needs a target"));
  EXPECT_EQ(dropped[0].decision.priority, 50);
  EXPECT_THAT(dropped[1].why, testing::HasSubstr("needs a target"));
  EXPECT_THAT(dropped[2].why, testing::HasSubstr("target 10 (asked 12, agents 1..10) does not "
                                                 "scale up from 10"));
  EXPECT_THAT(dropped[3].why, testing::HasSubstr("one scale decision per cycle: scale_up"));
}

TEST(DecisionJson, RepairActionsTravelInParameters) {
  Decision d;
  d.type = std::string(decision_type::kCoordinationImprove);
  d.actions = {{RepairOp::kRequeue, "work_1.json", "agent_a", "orphaned_claim"},
               {RepairOp::kDeadLetter, "work_2.json", "", "max_attempts"}};
  d.parameters = {{"items", 2}};
  const nlohmann::json j = to_json(d);
  ASSERT_EQ(j["parameters"]["actions"].size(), 2u);
  EXPECT_EQ(j["parameters"]["actions"][1]["op"], "dead_letter");
  const auto back = decision_from_json(j);
  ASSERT_TRUE(back.has_value());
  ASSERT_EQ(back->actions.size(), 2u);
  EXPECT_EQ(back->actions[0].expect_claimed_by, "agent_a");
  EXPECT_EQ(back->actions[1].op, RepairOp::kDeadLetter);
  EXPECT_EQ(back->parameters, (nlohmann::json{{"items", 2}}));
  // A custom type keeps whatever it wrote.
  Decision custom;
  custom.type = "page_oncall";
  custom.parameters = {{"target_agents", 3}, {"actions", {1, 2}}};
  EXPECT_EQ(decision_from_json(to_json(custom))->parameters, custom.parameters);
}

TEST(DecisionJson, Lenient) {
  EXPECT_FALSE(decision_from_json(nlohmann::json::array()).has_value());
  EXPECT_FALSE(decision_from_json("x").has_value());
  const auto d = decision_from_json({{"type", "custom"},
                                     {"priority", 2.9},
                                     {"confidence", "hi"},
                                     {"created_at", "junk"},
                                     {"parameters", 3}});
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->type, "custom");
  EXPECT_EQ(d->priority, 2);
  EXPECT_EQ(d->confidence, 0.0);
  EXPECT_EQ(d->created_at, TimePoint{});
  EXPECT_TRUE(d->parameters.is_object());
}

}  // namespace
}  // namespace dslmodel

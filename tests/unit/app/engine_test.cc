// The engine with in-memory adapters and a fake clock: no disk, no processes.
#include "dslmodel/engine.h"

#include <gtest/gtest.h>

namespace dslmodel {
namespace {

using namespace std::chrono_literals;

class FakeClock final : public Clock {
 public:
  explicit FakeClock(TimePoint* t) : t_(t) {}
  TimePoint now() const override { return *t_; }
  std::chrono::steady_clock::time_point steady_now() const override {
    return std::chrono::steady_clock::time_point(t_->time_since_epoch());
  }

 private:
  TimePoint* t_;
};

class FakeStore final : public CoordinationStore {
 public:
  explicit FakeStore(Snapshot* s) : s_(s) {}
  Result<Snapshot> snapshot() override { return *s_; }
  Result<RepairOutcome> apply(const std::vector<RepairAction>& actions) override {
    RepairOutcome o;
    for (const auto& a : actions) {
      applied.push_back(a.file);
      o.inverse.push_back({{"file", a.file}});
      ++o.applied;
    }
    return o;
  }
  Status undo(const nlohmann::json& inverse) override {
    undone += static_cast<int>(inverse.size());
    return Status::Ok();
  }
  std::string state_dir() const override { return "/nonexistent"; }
  std::string describe() const override { return "fake"; }
  std::vector<std::string> applied;
  int undone = 0;

 private:
  Snapshot* s_;
};

class FakeActuator final : public Actuator {
 public:
  explicit FakeActuator(std::vector<std::string>* log) : log_(log) {}
  Result<ActuationResult> scale(const ScaleRequest& r) override {
    log_->push_back("scale " + std::to_string(r.current_agents) + "->" +
                    std::to_string(r.target_agents));
    return ActuationResult{"ok", "", {{"to", r.current_agents}}};
  }
  Result<ActuationResult> undo(const nlohmann::json& inv) override {
    log_->push_back("undo ->" + std::to_string(inv["to"].get<int>()));
    return ActuationResult{"undone", "", {}};
  }
  std::string name() const override { return "fake"; }

 private:
  std::vector<std::string>* log_;
};

class MemoryJournal final : public Journal {
 public:
  Result<std::int64_t> append(JournalEntry e) override {
    e.seq = static_cast<std::int64_t>(entries_.size()) + 1;
    entries_.push_back(e);
    return e.seq;
  }
  Result<std::vector<JournalEntry>> read_all() const override { return entries_; }

 private:
  std::vector<JournalEntry> entries_;
};

class CollectingExporter final : public SpanExporter {
 public:
  explicit CollectingExporter(std::vector<SpanData>* out) : out_(out) {}
  void export_spans(std::vector<SpanData> spans) override {
    out_->insert(out_->end(), spans.begin(), spans.end());
  }
  bool flush(std::chrono::milliseconds) override { return true; }
  ExporterStats stats() const override { return {out_->size(), 0, 0}; }

 private:
  std::vector<SpanData>* out_;
};

// The fixture's shape: 2 active agents, 8 pending, 3 completed, 4 telemetry.
Snapshot fixture_snapshot() {
  Snapshot s;
  for (int i = 0; i < 2; ++i)
    s.agents.push_back({.id = "agent_" + std::to_string(i), .file = "", .status = "active"});
  for (int i = 0; i < 8; ++i)
    s.work.push_back({.id = "work_" + std::to_string(i), .file = "", .status = "pending"});
  for (int i = 0; i < 3; ++i)
    s.completed.push_back({.id = "c" + std::to_string(i), .file = "", .status = "completed"});
  for (int i = 0; i < 4; ++i) s.telemetry.push_back({.id = "t" + std::to_string(i)});
  return s;
}

struct Rig {
  Snapshot snap = fixture_snapshot();
  TimePoint now = TimePoint{} + 1'800'000'000s;
  std::vector<std::string> actuations;
  FakeStore* store = nullptr;
  std::unique_ptr<AutonomousDecisionEngine> engine;

  std::vector<SpanData> spans;

  explicit Rig(bool with_actuator = true) {
    EngineParts parts;
    parts.exporter = std::make_unique<CollectingExporter>(&spans);
    auto st = std::make_unique<FakeStore>(&snap);
    store = st.get();
    parts.store = std::move(st);
    parts.journal = std::make_unique<MemoryJournal>();
    parts.clock = std::make_unique<FakeClock>(&now);
    if (with_actuator) parts.actuator = std::make_unique<FakeActuator>(&actuations);
    engine = std::make_unique<AutonomousDecisionEngine>(Config{}, std::move(parts));
  }
  Result<CycleResult> cycle(ExecuteOptions o = {}) { return engine->run_cycle(o); }
};

TEST(Engine, FixtureIsCriticalAndScalesUpByThreeThroughTheActuator) {
  Rig rig;
  auto c = rig.cycle();
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->metrics.health_score, 0.28909090909090907);
  EXPECT_EQ(c->metrics.health_state, HealthState::kCritical);
  ASSERT_EQ(c->execution.executed.size(), 1u);
  EXPECT_EQ(c->execution.executed[0].type, "scale_up");
  EXPECT_EQ(rig.actuations, std::vector<std::string>{"scale 2->5"});
}

const SpanData* find_span(const std::vector<SpanData>& spans, const std::string& name) {
  for (const auto& s : spans) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

TEST(Engine, EachCycleIsOneTraceWithTheSeedsSpans) {
  Rig rig;
  ASSERT_TRUE(rig.cycle().ok());
  const SpanData* root = find_span(rig.spans, "swarmsh.autonomous.cycle_complete");
  ASSERT_NE(root, nullptr);
  EXPECT_EQ(root->parent_span_id, SpanId{});
  for (const char* child :
       {"swarmsh.autonomous.system_analysis", "swarmsh.autonomous.decision_generation",
        "swarmsh.autonomous.decision_execution", "swarmsh.thesis.span_drives_code",
        "swarmsh.thesis.telemetry_as_system"}) {
    const SpanData* s = find_span(rig.spans, child);
    ASSERT_NE(s, nullptr) << child;
    EXPECT_EQ(s->trace_id, root->trace_id) << child;
    EXPECT_EQ(s->parent_span_id, root->span_id) << child;
  }
  const SpanData* exec = find_span(rig.spans, "swarmsh.autonomous.decision_execution");
  const SpanData* scaling = find_span(rig.spans, "swarmsh.autonomous.scaling_decision");
  ASSERT_NE(scaling, nullptr);
  EXPECT_EQ(scaling->parent_span_id, exec->span_id);
  auto attr = [](const SpanData& s, const std::string& key) -> const AttributeValue* {
    for (const auto& [k, v] : s.attributes) {
      if (k == key) return &v;
    }
    return nullptr;
  };
  const SpanData* analysis = find_span(rig.spans, "swarmsh.autonomous.system_analysis");
  EXPECT_EQ(std::get<double>(*attr(*analysis, "health_score")), 0.28909090909090907);
  EXPECT_EQ(std::get<std::int64_t>(*attr(*analysis, "active_agents")), 2);
  EXPECT_EQ(std::get<std::string>(*attr(*analysis, "health_state")), "critical");
  EXPECT_EQ(std::get<std::string>(*attr(*exec, "decision_type")), "scale_up");
  EXPECT_EQ(std::get<std::int64_t>(*attr(*root, "decisions_executed")), 1);
  const SpanData* gen = find_span(rig.spans, "swarmsh.autonomous.decision_generation");
  EXPECT_EQ(std::get<std::vector<std::string>>(*attr(*gen, "decision_types")),
            std::vector<std::string>{"scale_up"});
  const std::size_t first = rig.spans.size();
  const TraceId first_trace = root->trace_id;  // `root` points into spans, which will grow
  ASSERT_TRUE(rig.cycle().ok());
  EXPECT_NE(rig.spans[first].trace_id, first_trace) << "a new trace per cycle";
}

TEST(Engine, ScaleUpRateLimitSurvivesInTheJournalAndRollbackUsesTheInverse) {
  Rig rig;
  auto first = rig.cycle();
  ASSERT_EQ(first->execution.executed.size(), 1u);
  rig.now += 10s;
  auto second = rig.cycle();
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE(second->execution.executed.empty());
  ASSERT_EQ(second->execution.skipped.size(), 1u);
  EXPECT_EQ(second->execution.skipped[0].reason, "rate_limited");
  auto rb = rig.engine->rollback(first->execution.executed[0].decision_id);
  ASSERT_TRUE(rb.ok()) << rb.status().message();
  EXPECT_EQ(rig.actuations.back(), "undo ->2");
  EXPECT_FALSE(rig.engine->rollback(first->execution.executed[0].decision_id).ok());
}

TEST(Engine, WithoutActuatorScalingIsSkippedNeverReportedDone) {
  Rig rig(false);
  auto c = rig.cycle();
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->execution.executed.empty());
  ASSERT_EQ(c->execution.skipped.size(), 1u);
  EXPECT_EQ(c->execution.skipped[0].reason, "no_actuator");
}

TEST(Engine, FollowersAndDisabledRemediationExecuteNothing) {
  Rig rig;
  rig.engine->set_leader(false, 3);
  EXPECT_EQ(rig.cycle()->execution.skipped.at(0).reason, "not_leader");
  rig.engine->set_leader(true, 4);
  rig.engine->set_remediation_enabled(false);
  EXPECT_EQ(rig.cycle()->execution.skipped.at(0).reason, "remediation_disabled");
  EXPECT_TRUE(rig.actuations.empty());
}

class GenerousEngine : public AutonomousDecisionEngine {
 public:
  using AutonomousDecisionEngine::AutonomousDecisionEngine;

 protected:
  double calculate_health_score(const SystemMetrics&) const override { return 0.95; }
};

TEST(Engine, HealthHookIsHonoured) {
  Snapshot snap = fixture_snapshot();
  TimePoint now{};
  EngineParts parts;
  parts.store = std::make_unique<FakeStore>(&snap);
  parts.journal = std::make_unique<MemoryJournal>();
  parts.clock = std::make_unique<FakeClock>(&now);
  GenerousEngine e(Config{}, std::move(parts));
  auto m = e.analyze_system_state();
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->health_score, 0.95);
  EXPECT_EQ(m->health_state, HealthState::kOptimal);
}

TEST(Engine, HandlerAndExecutorRunACustomType) {
  Rig rig;
  int runs = 0;
  rig.engine->add_decision_handler("emergency_scale", [](const SystemMetrics& m) {
    Decision d;
    d.priority = 11;
    d.confidence = 0.9;
    d.parameters = {{"items", m.work_queue_size}};
    return std::optional<Decision>(d);
  });
  rig.engine->add_decision_executor("emergency_scale", [&](const Decision&) {
    ++runs;
    return Result<ExecutorResult>(ExecutorResult{"done", {}});
  });
  auto c = rig.cycle();
  ASSERT_TRUE(c.ok());
  ASSERT_FALSE(c->decisions.empty());
  EXPECT_EQ(c->decisions[0].type, "emergency_scale");
  EXPECT_FALSE(c->decisions[0].id.empty());
  EXPECT_EQ(runs, 1);
}

TEST(Engine, ACustomScaleDecisionIsLiftedOrReportedNeverSilentlyLost) {
  Rig rig;
  // Outranks the built-in critical_backlog scale-up (priority 10), target written as parameters.
  rig.engine->add_decision_handler("scale_up", [](const SystemMetrics& m) {
    Decision d;
    d.priority = 20;
    d.confidence = 0.95;
    d.reason = "mine";
    d.parameters = {{"current_agents", m.active_agents}, {"target_agents", 4}};
    return std::optional<Decision>(d);
  });
  // No target at all.
  rig.engine->add_decision_handler("scale_down", [](const SystemMetrics&) {
    Decision d;
    d.priority = 30;
    d.confidence = 0.95;
    d.reason = "targetless";
    return std::optional<Decision>(d);
  });
  auto c = rig.cycle();
  ASSERT_TRUE(c.ok());
  ASSERT_FALSE(c->decisions.empty());
  EXPECT_EQ(c->decisions[0].reason, "mine");
  ASSERT_TRUE(c->decisions[0].scale.has_value());
  EXPECT_EQ(c->decisions[0].scale->target_agents, 4);
  EXPECT_EQ(rig.actuations, std::vector<std::string>{"scale 2->4"});
  ASSERT_EQ(c->dropped.size(), 2u);
  EXPECT_EQ(c->dropped[0].decision.reason, "targetless");
  EXPECT_NE(c->dropped[0].why.find("needs a target"), std::string::npos);
  EXPECT_EQ(c->dropped[1].decision.reason, "critical_backlog");
  EXPECT_NE(c->dropped[1].why.find("scale_up (mine, priority 20) ranks first"), std::string::npos);
  EXPECT_EQ(rig.engine->dropped_decisions().size(), 2u);
}

TEST(Engine, ExecuteLiftsAPayloadWrittenAsParameters) {
  Rig rig;
  ASSERT_TRUE(rig.engine->analyze_system_state().ok());
  Decision d;
  d.id = "dec-hand-1";
  d.type = std::string(decision_type::kScaleUp);
  d.confidence = 0.9;
  d.parameters = {{"current_agents", 2}, {"target_agents", 3}};
  const ExecutionReport r = rig.engine->execute_decisions({d});
  ASSERT_EQ(r.executed.size(), 1u);
  EXPECT_EQ(rig.actuations, std::vector<std::string>{"scale 2->3"});
}

TEST(Engine, MaxDecisionsAndDryRun) {
  Rig rig;
  ExecuteOptions o;
  o.dry_run = true;
  auto c = rig.cycle(o);
  EXPECT_EQ(c->execution.skipped.at(0).reason, "dry_run");
  o = {};
  o.max_decisions = 0;
  c = rig.cycle(o);
  EXPECT_EQ(c->execution.skipped.at(0).reason, "max_decisions");
  EXPECT_TRUE(rig.actuations.empty());
}

}  // namespace
}  // namespace dslmodel

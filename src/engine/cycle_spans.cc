#include "engine/cycle_spans.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "core/json_text.h"

namespace dslmodel {
namespace {

std::int64_t nanos(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

SpanData make_span(std::string name, const TraceId& trace, const SpanId& parent, TimePoint start,
                   TimePoint end) {
  SpanData s;
  s.name = std::move(name);
  s.trace_id = trace;
  s.span_id = new_span_id();
  s.parent_span_id = parent;
  s.start_unix_nano = nanos(start);
  s.end_unix_nano = nanos(std::max(start, end));
  return s;
}

struct SpanOutcome {
  std::string result;  // execution_result
  bool executed = false;
  bool failed = false;
};

std::map<std::string, SpanOutcome> outcomes(const ExecutionReport& r) {
  std::map<std::string, SpanOutcome> out;
  for (const auto& e : r.executed) out[e.decision_id] = {e.result, true, false};
  for (const auto& f : r.failed) out[f.decision_id] = {"failed: " + f.error, false, true};
  for (const auto& s : r.skipped) out[s.decision_id] = {"skipped: " + s.reason, false, false};
  return out;
}

// decision_execution, plus its scaling_decision / coordination_improvement child.
void add_execution_spans(const Decision& d, const SpanOutcome& o, const DecisionTiming& t,
                         const TraceId& trace, const SpanId& root, std::vector<SpanData>& out,
                         std::vector<std::string>& artifacts) {
  SpanData s = make_span("swarmsh.autonomous.decision_execution", trace, root, t.start, t.end);
  s.attributes = {{"decision_id", d.id},
                  {"decision_type", d.type},
                  {"execution_result", o.result},
                  {"confidence", d.confidence}};
  s.error = o.failed;
  if (o.failed) s.status_message = o.result;
  const SpanId parent = s.span_id;
  out.push_back(std::move(s));
  if (!o.executed) return;
  const std::int64_t current = d.scale ? d.scale->current_agents.value_or(0) : 0;
  const std::int64_t target = d.scale ? d.scale->target_agents : 0;
  if (d.type == decision_type::kScaleUp || d.type == decision_type::kScaleDown) {
    SpanData c = make_span("swarmsh.autonomous.scaling_decision", trace, parent, t.start, t.end);
    c.attributes = {{"decision_id", d.id},
                    {"direction", d.type == decision_type::kScaleUp ? "up" : "down"},
                    {"current_agents", current},
                    {"target_agents", target},
                    {"reason", d.reason}};
    out.push_back(std::move(c));
    artifacts.emplace_back("scaling_decision");
  } else if (d.type == decision_type::kCoordinationImprove) {
    SpanData c =
        make_span("swarmsh.autonomous.coordination_improvement", trace, parent, t.start, t.end);
    c.attributes = {{"decision_id", d.id},
                    {"items", d.parameters.value("items", std::int64_t{0})},
                    {"reason", d.reason},
                    {"result", o.result}};
    out.push_back(std::move(c));
    artifacts.emplace_back("coordination_improvement");
  }
}

SpanData root_span(const CycleResult& c, const CyclePhases& p, const TraceId& trace,
                   std::optional<double> previous_health) {
  SpanData root = make_span("swarmsh.autonomous.cycle_complete", trace, SpanId{}, p.start, p.end);
  root.attributes = {{"cycle_duration_ms", c.duration_ms},
                     {"decisions_executed", static_cast<std::int64_t>(c.execution.executed.size())},
                     {"decisions_failed", static_cast<std::int64_t>(c.execution.failed.size())},
                     {"system_improvement",
                      previous_health.has_value() && c.metrics.health_score > *previous_health},
                     {"health_score", c.metrics.health_score}};
  return root;
}

}  // namespace

std::vector<SpanData> cycle_spans(const CycleResult& c, const CyclePhases& p,
                                  const std::vector<DecisionTiming>& timings,
                                  std::optional<double> previous_health) {
  const TraceId trace = new_trace_id();
  std::vector<SpanData> out;
  out.push_back(root_span(c, p, trace, previous_health));
  const SpanId root = out.front().span_id;
  const SystemMetrics& m = c.metrics;
  SpanData analysis =
      make_span("swarmsh.autonomous.system_analysis", trace, root, p.start, p.analyzed);
  analysis.attributes = {{"completion_rate", m.completion_rate},
                         {"active_agents", m.active_agents},
                         {"work_queue_size", m.work_queue_size},
                         {"health_score", m.health_score},
                         {"health_state", std::string(to_string(m.health_state))}};
  out.push_back(std::move(analysis));
  SpanData generation =
      make_span("swarmsh.autonomous.decision_generation", trace, root, p.analyzed, p.decided);
  std::vector<std::string> types;
  std::int64_t highest = 0;
  for (const Decision& d : c.decisions) {
    types.push_back(d.type);
    highest = std::max<std::int64_t>(highest, d.priority);
  }
  generation.attributes = {{"decision_count", static_cast<std::int64_t>(c.decisions.size())},
                           {"highest_priority", highest},
                           {"decision_types", types}};
  out.push_back(std::move(generation));
  const auto results = outcomes(c.execution);
  std::vector<std::string> artifacts;
  for (const Decision& d : c.decisions) {
    auto t = std::find_if(timings.begin(), timings.end(),
                          [&](const DecisionTiming& x) { return x.decision_id == d.id; });
    auto o = results.find(d.id);
    if (t == timings.end() || o == results.end()) continue;
    add_execution_spans(d, o->second, *t, trace, root, out, artifacts);
  }
  SpanData drives = make_span("swarmsh.thesis.span_drives_code", trace, root, p.end, p.end);
  drives.attributes = {{"detail", dump_json(nlohmann::json{{"artifacts", artifacts},
                                                           {"model", "dslmodel-policy"}})}};
  out.push_back(std::move(drives));
  SpanData system = make_span("swarmsh.thesis.telemetry_as_system", trace, root, p.end, p.end);
  system.attributes = {{"detail", std::string("Autonomous decisions driven by telemetry")}};
  out.push_back(std::move(system));
  return out;
}

}  // namespace dslmodel

// The exporter's cost per cycle: building a cycle's spans, encoding them as OTLP JSON, and the
// export_spans() call the loop makes (a queue push; sending happens on the exporter's thread).
#include <benchmark/benchmark.h>

#include "engine/cycle_spans.h"
#include "telemetry/otlp_http_exporter.h"
#include "telemetry/otlp_json.h"

namespace {

dslmodel::CycleResult sample_cycle() {
  dslmodel::CycleResult c;
  c.metrics.health_score = 0.289;
  c.metrics.active_agents = 2;
  c.metrics.work_queue_size = 8;
  for (int i = 0; i < 3; ++i) {
    dslmodel::Decision d;
    d.id = "dec-1-" + std::to_string(i);
    d.type = i == 0 ? "scale_up" : "coordination_improve";
    if (i == 0) d.scale = dslmodel::ScaleTarget{5, 2};
    d.parameters = {{"items", 4}};
    c.decisions.push_back(d);
    c.execution.executed.push_back({d.id, d.type, "done", 3});
  }
  return c;
}

std::vector<dslmodel::DecisionTiming> timings(const dslmodel::CycleResult& c) {
  std::vector<dslmodel::DecisionTiming> t;
  for (const auto& d : c.decisions) t.push_back({d.id, {}, {}});
  return t;
}

void BM_BuildCycleSpans(benchmark::State& state) {
  const auto c = sample_cycle();
  const auto t = timings(c);
  for (auto _ : state) benchmark::DoNotOptimize(dslmodel::cycle_spans(c, {}, t, 0.2));
}
BENCHMARK(BM_BuildCycleSpans);

void BM_EncodeCycleExport(benchmark::State& state) {
  const auto c = sample_cycle();
  const auto spans = dslmodel::cycle_spans(c, {}, timings(c), 0.2);
  const dslmodel::telemetry::Resource resource;
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        dslmodel::telemetry::dump_json(dslmodel::telemetry::encode_export(spans, resource)));
  }
  state.counters["spans"] = static_cast<double>(spans.size());
}
BENCHMARK(BM_EncodeCycleExport);

// The loop's call: spans handed to the exporter's queue; the collector here is down.
void BM_ExportSpansCall(benchmark::State& state) {
  dslmodel::telemetry::OtlpHttpConfig cfg;
  cfg.endpoint = "http://127.0.0.1:9/v1/traces";
  cfg.shutdown_flush = std::chrono::milliseconds(200);
  auto exporter = dslmodel::telemetry::OtlpHttpExporter::create(cfg);
  const auto c = sample_cycle();
  const auto spans = dslmodel::cycle_spans(c, {}, timings(c), 0.2);
  for (auto _ : state) (*exporter)->export_spans(spans);
}
BENCHMARK(BM_ExportSpansCall);

}  // namespace

BENCHMARK_MAIN();

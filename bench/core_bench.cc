// The pure core on large snapshots: measure and decide over N records.
#include <benchmark/benchmark.h>

#include "dslmodel/policy.h"

namespace {

dslmodel::Snapshot make_snapshot(int n) {
  dslmodel::Snapshot s;
  for (int i = 0; i < n; ++i) {
    const std::string id = std::to_string(i);
    switch (i % 4) {
      case 0:
        s.agents.push_back(
            {.id = "agent_" + id, .file = "agent_" + id + ".json", .status = "active"});
        break;
      case 1:
        s.work.push_back({.id = "work_" + id,
                          .file = "work_" + id + ".json",
                          .status = i % 3 == 0 ? "claimed" : "pending",
                          .claimed_by = i % 3 == 0 ? "agent_gone" : ""});
        break;
      case 2:
        s.completed.push_back(
            {.id = id, .file = "completed_" + id + ".json", .status = "completed"});
        break;
      default:
        s.telemetry.push_back({.id = id, .file = "telemetry_" + id + ".json"});
    }
  }
  return s;
}

void BM_Measure(benchmark::State& state) {
  const auto snap = make_snapshot(static_cast<int>(state.range(0)));
  const dslmodel::Config cfg;
  const auto now = std::chrono::system_clock::now();
  for (auto _ : state) benchmark::DoNotOptimize(dslmodel::measure(snap, cfg, now));
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Measure)->Arg(1000)->Arg(100000);

void BM_MeasureAndDecide(benchmark::State& state) {
  const auto snap = make_snapshot(static_cast<int>(state.range(0)));
  const dslmodel::Config cfg;
  const auto now = std::chrono::system_clock::now();
  for (auto _ : state) {
    auto m = dslmodel::measure(snap, cfg, now);
    benchmark::DoNotOptimize(dslmodel::decide(snap, m, cfg, {}, now));
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_MeasureAndDecide)->Arg(1000)->Arg(100000);

}  // namespace

BENCHMARK_MAIN();

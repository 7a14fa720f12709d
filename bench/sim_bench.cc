// Decision quality and the simulator's speed (docs/simulate.md): for every built-in trace and
// the Azure LLM trace, the default policy, the seed's step rules and the HPA algorithm side by
// side, with the default's ratios to the HPA baseline; then the wall time of an hour-long trace.
#include <fmt/format.h>

#include <chrono>
#include <string>
#include <vector>

#include "sim/simulate.h"
#include "sim/trace.h"

namespace sim = dslmodel::sim;

int main(int argc, char** argv) {
  const std::string azure = argc > 1 ? argv[1] : "tests/testdata/traces/azure-llm-code-2023.csv";
  std::vector<sim::Trace> traces;
  for (const std::string& name : sim::builtin_trace_names())
    traces.push_back(*sim::builtin_trace(name));
  auto a = sim::load_trace(azure);
  if (a.ok()) {
    traces.push_back(*a);
  } else {
    fmt::print("(no Azure trace: {})\n", a.status().message());
  }
  const dslmodel::Config cfg;
  int failures = 0;
  fmt::print("{:<22} {:<8} {:>8} {:>9} {:>10} {:>7} {:>9} {:>5}\n", "trace", "policy", "drain s",
             "p95 wait", "agent-s", "agents", "reversals", "lost");
  for (const sim::Trace& t : traces) {
    std::vector<sim::SimResult> rs;
    for (const char* p : {"default", "seed", "hpa"}) {
      rs.push_back(*sim::simulate(t, *sim::builtin_policy(p, cfg), {}));
      const sim::SimResult& r = rs.back();
      fmt::print("{:<22} {:<8} {:>8.1f} {:>9.2f} {:>10.0f} {:>7} {:>9} {:>5}\n", t.name, p,
                 r.drain_s, r.p95_wait_s, r.agent_seconds, r.max_agents, r.direction_changes,
                 r.lost);
    }
    const sim::SimResult& d = rs[0];
    const sim::SimResult& h = rs[2];
    const bool ok = d.p95_wait_s <= h.p95_wait_s && d.agent_seconds <= 1.1 * h.agent_seconds &&
                    d.direction_changes <= h.direction_changes && d.lost == 0;
    failures += ok ? 0 : 1;
    fmt::print(
        "{:<22} default/hpa: p95 wait {:.2f}x, agent-seconds {:.2f}x, reversals {} vs {}  {}\n\n",
        t.name, h.p95_wait_s > 0 ? d.p95_wait_s / h.p95_wait_s : 1.0,
        d.agent_seconds / h.agent_seconds, d.direction_changes, h.direction_changes,
        ok ? "ok" : "WORSE THAN HPA");
  }
  // Speed: 10,000 items over an hour (the Azure trace, repeated to 10,000 items).
  sim::Trace hour;
  hour.name = "hour";
  for (int i = 0; i < 10'000; ++i) {
    hour.items.push_back({3600.0 * i / 10'000, 0.5 + (i % 7) * 0.2, 0, fmt::format("h{}", i)});
  }
  const auto start = std::chrono::steady_clock::now();
  auto r = sim::simulate(hour, *sim::builtin_policy("default", cfg), {});
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  fmt::print("10,000 items over an hour, default policy: {:.3f} s of wall time ({} cycles){}\n", s,
             r->cycles, s < 1.0 ? "" : "  SLOWER THAN 1 s");
  return failures == 0 ? 0 : 1;
}

// The built-in workload traces of the simulator (sim/trace.h, docs/simulate.md): synthetic,
// deterministic for a seed. Own transforms of mt19937_64 so every standard library yields the
// same trace.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <numbers>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sim/trace.h"

namespace dslmodel::sim {
namespace {

constexpr double kItemSeconds = 0.5;

class Rng {
 public:
  explicit Rng(std::uint64_t seed) : gen_(seed) {}

  double uniform() { return static_cast<double>(gen_() >> 11) * 0x1.0p-53; }  // [0, 1)
  double exponential(double rate) { return -std::log(1.0 - uniform()) / rate; }

 private:
  std::mt19937_64 gen_;
};

// Non-homogeneous Poisson arrivals on [0, horizon) by thinning against max_rate. The first one
// comes after a random gap, as it would after any moment a controller looks: the swarm is at
// rest when the trace begins.
template <typename RateFn>
std::vector<double> poisson_arrivals(Rng& rng, double horizon_s, double max_rate, RateFn rate) {
  std::vector<double> times;
  double t = rng.exponential(max_rate);
  while (t < horizon_s) {
    if (rng.uniform() * max_rate < rate(t)) times.push_back(t);
    t += rng.exponential(max_rate);
  }
  return times;
}

void add_items(Trace& trace, const std::vector<double>& times, double duration_s) {
  for (const double t : times) trace.items.push_back(TraceItem{t, duration_s, 0, ""});
}

// Sorts (stable) and names the items "i1", "i2", ... in arrival order.
Trace finish_builtin(Trace trace) {
  std::stable_sort(trace.items.begin(), trace.items.end(),
                   [](const TraceItem& a, const TraceItem& b) { return a.at_s < b.at_s; });
  for (std::size_t i = 0; i < trace.items.size(); ++i) {
    trace.items[i].id = fmt::format("i{}", i + 1);
  }
  return trace;
}

Trace make_burst(std::uint64_t /*seed*/) {
  Trace trace{"burst", {}, {}};
  add_items(trace, std::vector<double>(120, 0.0), kItemSeconds);
  return finish_builtin(std::move(trace));
}

Trace make_steady(std::uint64_t seed) {
  Rng rng(seed);
  Trace trace{"steady", {}, {}};
  add_items(trace, poisson_arrivals(rng, 600.0, 1.0, [](double) { return 1.0; }), kItemSeconds);
  return finish_builtin(std::move(trace));
}

Trace make_spike(std::uint64_t /*seed*/) {
  Trace trace{"spike", {}, {}};
  std::vector<double> times;
  times.reserve(140);
  // Arrivals on the half second: the swarm is at rest when the trace begins.
  for (int s = 0; s < 60; ++s) times.push_back(static_cast<double>(s) + 0.5);
  times.insert(times.end(), 80, 20.0);
  add_items(trace, times, kItemSeconds);
  return finish_builtin(std::move(trace));
}

Trace make_ramp(std::uint64_t seed) {
  constexpr double kHorizon = 600.0, kFrom = 0.2, kTo = 12.0;
  Rng rng(seed);
  Trace trace{"ramp", {}, {}};
  const auto rate = [](double t) { return kFrom + (kTo - kFrom) * t / kHorizon; };
  add_items(trace, poisson_arrivals(rng, kHorizon, kTo, rate), kItemSeconds);
  return finish_builtin(std::move(trace));
}

Trace make_crash(std::uint64_t seed) {
  Trace trace = make_burst(seed);
  trace.name = "crash";
  trace.crashes.push_back(CrashEvent{5.0, 2});
  return trace;
}

// Starts at the trough (0.2/s) and peaks (6/s) at 15 and 45 minutes.
Trace make_diurnal(std::uint64_t seed) {
  constexpr double kHorizon = 3600.0, kPeriod = 1800.0, kLow = 0.2, kHigh = 6.0;
  Rng rng(seed);
  const auto rate = [](double t) {
    const double mid = (kHigh + kLow) / 2, amp = (kHigh - kLow) / 2;
    return mid - amp * std::cos(2 * std::numbers::pi * t / kPeriod);
  };
  const auto times = poisson_arrivals(rng, kHorizon, kHigh, rate);
  Trace trace{"diurnal", {}, {}};
  for (const double t : times) {
    const double duration = kItemSeconds * (0.5 + rng.uniform());  // ±50%
    trace.items.push_back(TraceItem{t, duration, 0, ""});
  }
  return finish_builtin(std::move(trace));
}

struct Builtin {
  std::string_view name;
  Trace (*make)(std::uint64_t seed);
};

constexpr std::array<Builtin, 6> kBuiltins = {{
    {"burst", &make_burst},
    {"steady", &make_steady},
    {"spike", &make_spike},
    {"ramp", &make_ramp},
    {"crash", &make_crash},
    {"diurnal", &make_diurnal},
}};

}  // namespace

Result<Trace> builtin_trace(std::string_view name, std::uint64_t seed) {
  for (const Builtin& b : kBuiltins) {
    if (b.name == name) return b.make(seed);
  }
  std::string names;
  for (const std::string& n : builtin_trace_names()) names += (names.empty() ? "" : ", ") + n;
  return Status(ErrorCode::kInvalidArgument,
                fmt::format("unknown trace \"{}\"; built-in traces: {}", name, names));
}

const std::vector<std::string>& builtin_trace_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    out.reserve(std::size(kBuiltins));
    for (const Builtin& b : kBuiltins) out.emplace_back(b.name);
    return out;
  }();
  return names;
}

}  // namespace dslmodel::sim

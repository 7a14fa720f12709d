// The capacity model: the formula, its inputs and defaults are in docs/policy.md.
#include "dslmodel/capacity.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <optional>
#include <vector>

#include "core/rules.h"

namespace dslmodel {
namespace {

using Secs = std::chrono::duration<double>;

constexpr std::size_t kServiceSamples = 100;             // the most recent completions
constexpr std::size_t kLagScaleUps = 8;                  // the most recent scale-ups
constexpr auto kLagHorizon = std::chrono::seconds(120);  // a start later than this is not ours
constexpr int kTrendBuckets = 4;

double seconds(TimePoint::duration d) { return std::chrono::duration_cast<Secs>(d).count(); }

// Mean service time of the most recent completions: duration_ms, else finished − claimed_at.
std::pair<double, int> service_time(const Snapshot& snap, const PolicyConfig& p) {
  std::vector<std::pair<TimePoint, double>> samples;  // (finished, seconds)
  samples.reserve(std::min(snap.completed.size(), std::size_t{4096}));
  for (const CompletedRecord& c : snap.completed) {
    std::optional<double> s;
    if (c.duration) {
      s = std::chrono::duration_cast<Secs>(*c.duration).count();
    } else if (c.finished && c.claimed_at && *c.finished >= *c.claimed_at) {
      s = seconds(*c.finished - *c.claimed_at);
    }
    if (s && std::isfinite(*s)) samples.emplace_back(c.finished.value_or(TimePoint{}), *s);
  }
  if (samples.empty()) {
    return {std::chrono::duration_cast<Secs>(p.default_service_time).count(), 0};
  }
  if (samples.size() > kServiceSamples) {
    auto mid = samples.end() - static_cast<std::ptrdiff_t>(kServiceSamples);
    std::nth_element(samples.begin(), mid, samples.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    samples.erase(samples.begin(), mid);
  }
  double sum = 0.0;
  for (const auto& [at, s] : samples) sum += s;
  return {sum / static_cast<double>(samples.size()), static_cast<int>(samples.size())};
}

struct Arrivals {
  std::int64_t count = 0;
  std::array<std::int64_t, kTrendBuckets> buckets{};  // oldest quarter of the window first
};

// Items created within [now − window, now], from work and completed records.
Arrivals arrivals(const Snapshot& snap, Seconds window, TimePoint now) {
  Arrivals a;
  if (window.count() <= 0) return a;
  const TimePoint from = now - window;
  auto add = [&](const std::optional<TimePoint>& created) {
    if (!created || *created < from || *created > now) return;
    ++a.count;
    const double f = seconds(*created - from) / seconds(window);
    const int b = std::clamp(static_cast<int>(f * kTrendBuckets), 0, kTrendBuckets - 1);
    ++a.buckets[static_cast<std::size_t>(b)];
  };
  for (const WorkRecord& w : snap.work) add(w.created);
  for (const CompletedRecord& c : snap.completed) add(c.created);
  return a;
}

// The ongoing arrival rate: the median of the four quarters' rates, so that a burst (which is
// in the backlog already) does not count again as a rate of arrivals to come.
double ongoing_rate(const Arrivals& a, Seconds window) {
  if (window.count() <= 0) return 0.0;
  std::array<std::int64_t, kTrendBuckets> sorted = a.buckets;
  std::sort(sorted.begin(), sorted.end());
  const double width = seconds(window) / kTrendBuckets;
  return static_cast<double>(sorted[1] + sorted[2]) / 2.0 / width;
}

// A rising trend counts only when every quarter of the window saw more arrivals than the one
// before (a ramp, not a single burst); then the rate is projected `ahead` seconds past now
// along the least-squares line through the four quarters' rates.
double projected_rate(const Arrivals& a, double rate, Seconds window, double ahead) {
  for (int i = 1; i < kTrendBuckets; ++i) {
    if (a.buckets[static_cast<std::size_t>(i)] <= a.buckets[static_cast<std::size_t>(i - 1)]) {
      return rate;
    }
  }
  const double width = seconds(window) / kTrendBuckets;
  // Bucket centres at x = -(kTrendBuckets - i - 0.5) * width from now; rates y = n / width.
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (int i = 0; i < kTrendBuckets; ++i) {
    const double x = -(kTrendBuckets - i - 0.5) * width;
    const double y = static_cast<double>(a.buckets[static_cast<std::size_t>(i)]) / width;
    sx += x;
    sy += y;
    sxx += x * x;
    sxy += x * y;
  }
  const double n = kTrendBuckets;
  const double slope = (n * sxy - sx * sy) / (n * sxx - sx * sx);
  const double at_now = (sy - slope * sx) / n;
  return std::max(rate, at_now + slope * ahead);
}

// Median of (first agent start after a scale-up − the scale-up), over the recent scale-ups.
std::pair<double, int> startup_lag(const Snapshot& snap, const DecisionHistory& h,
                                   const PolicyConfig& p, TimePoint now) {
  std::vector<double> samples;
  const std::size_t n = h.scale_ups.size();
  for (std::size_t i = n > kLagScaleUps ? n - kLagScaleUps : 0; i < n; ++i) {
    const TimePoint at = h.scale_ups[i];
    TimePoint until = std::min(at + kLagHorizon, i + 1 < n ? h.scale_ups[i + 1] : now);
    std::optional<TimePoint> first;
    for (const AgentRecord& ag : snap.agents) {
      if (ag.created && *ag.created >= at && *ag.created < until &&
          (!first || *ag.created < *first)) {
        first = ag.created;
      }
    }
    if (first) samples.push_back(seconds(*first - at));
  }
  if (samples.empty()) {
    return {static_cast<double>(p.default_startup_lag.count()), 0};
  }
  std::sort(samples.begin(), samples.end());
  const std::size_t mid = samples.size() / 2;
  const double median =
      samples.size() % 2 == 1 ? samples[mid] : (samples[mid - 1] + samples[mid]) / 2.0;
  return {median, static_cast<int>(samples.size())};
}

}  // namespace

namespace detail {

std::int64_t clamp_agents(std::int64_t n, const PolicyConfig& p) {
  const std::int64_t lo = std::max(0, p.min_agents);
  const std::int64_t hi = std::max<std::int64_t>(lo, p.max_agents);
  return std::clamp(n, lo, hi);
}

}  // namespace detail

using detail::clamp_agents;

double drain_seconds(const CapacityEstimate& e, std::int64_t agents) {
  if (e.backlog <= 0) return 0.0;
  const double rate = static_cast<double>(agents) / e.service_time_s - e.projected_rate;
  if (!(rate > 0.0)) return std::numeric_limits<double>::infinity();
  return e.startup_lag_s + static_cast<double>(e.backlog) / rate;
}

CapacityEstimate estimate_capacity(const Snapshot& snap, const SystemMetrics& metrics,
                                   const Config& cfg, const DecisionHistory& history,
                                   TimePoint now) {
  const PolicyConfig& p = cfg.policy;
  CapacityEstimate e;
  std::tie(e.service_time_s, e.service_samples) = service_time(snap, p);
  e.service_time_s = std::max(e.service_time_s, 0.001);
  std::tie(e.startup_lag_s, e.lag_samples) = startup_lag(snap, history, p, now);
  const Arrivals a = arrivals(snap, p.arrival_window, now);
  e.arrivals = a.count;
  e.arrival_rate = ongoing_rate(a, p.arrival_window);
  e.projected_rate = p.arrival_trend
                         ? projected_rate(a, e.arrival_rate, p.arrival_window, e.startup_lag_s)
                         : e.arrival_rate;
  e.backlog = std::max<std::int64_t>(0, metrics.work_queue_size);

  const double drain_window = std::max(
      {static_cast<double>(p.target_drain.count()) - e.startup_lag_s, e.service_time_s, 1.0});
  const double utilization = std::clamp(p.target_utilization, 0.05, 1.0);
  e.drain_agents = static_cast<double>(e.backlog) * e.service_time_s / drain_window;
  e.arrival_agents = e.projected_rate * e.service_time_s / utilization;
  const double total = e.drain_agents + e.arrival_agents;
  // 1e-9 keeps an exact whole number (2.0000000001 from rounding) from asking one agent more.
  e.needed = total > 0.0 ? static_cast<std::int64_t>(std::ceil(std::min(total, 1e9) - 1e-9)) : 0;
  e.recommended = clamp_agents(e.needed, p);

  e.floor = e.recommended;
  for (const Recommendation& r : history.recommendations) {
    if (r.at <= now && now - r.at < p.scale_down_window) e.floor = std::max(e.floor, r.agents);
  }
  e.floor = clamp_agents(std::max(e.floor, metrics.in_progress), p);

  if (history.last_scale_up && history.last_scale_up_target && *history.last_scale_up <= now) {
    const double since = seconds(now - *history.last_scale_up);
    if (since < 2.0 * e.startup_lag_s + 5.0) e.starting_target = *history.last_scale_up_target;
  }

  const double service_evidence = std::min(1.0, e.service_samples / 10.0);
  const double arrival_evidence = std::min(1.0, static_cast<double>(e.arrivals) / 10.0);
  e.confidence = 0.7 + 0.15 * service_evidence + 0.1 * arrival_evidence;
  return e;
}

}  // namespace dslmodel

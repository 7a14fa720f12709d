// The layout of the simulator's SVG chart (sim/plot_layout.h): geometry, axes, legend flow and
// the points of each line.
#include "sim/plot_layout.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <string_view>

namespace dslmodel::sim::detail {
namespace {

// Above this many points (after dropping repeats) a line is bucketed by pixel column.
constexpr std::size_t kThinAbove = 4000;

double finite_or_zero(double x) { return std::isfinite(x) ? x : 0.0; }

// Code points, not bytes, so the legend spacing fits non-ASCII names too.
std::size_t glyph_count(std::string_view s) {
  return static_cast<std::size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

// A count axis 0..nice max with 4-6 integer ticks; tiny maxima get 0..4 so the ticks stay
// whole numbers and there are still enough of them.
Axis count_axis(double max_value) {
  const double m = std::max(max_value, 4.0);
  const double step = std::max(1.0, nice_step(m, 5));
  const double n = std::ceil(m / step - 1e-9);
  return {0.0, n * step, step};
}

double metric_value(const Sample& s, Metric m) {
  switch (m) {
    case Metric::kAgents:
      return std::max(0.0, static_cast<double>(s.agents));
    case Metric::kQueue:
      return std::max(0.0, static_cast<double>(s.queue));
    case Metric::kHealth:
      return std::clamp(finite_or_zero(s.health), 0.0, 1.0);
  }
  return 0.0;
}

// The points where the value changes, plus the first and the last: a step line through them is
// identical to one through every sample.
std::vector<Point> change_points(const std::vector<Sample>& samples, Metric m) {
  std::vector<Point> out;
  for (std::size_t i = 0; i < samples.size(); ++i) {
    const Point p{finite_or_zero(samples[i].t_s), metric_value(samples[i], m)};
    if (!out.empty() && i + 1 < samples.size() && p.v == out.back().v) continue;
    out.push_back(p);
  }
  return out;
}

// Keeps the first, lowest, highest and last point of each run in one pixel column, so every
// spike stays visible while a line never needs more than ~4 points per pixel.
std::vector<Point> thin_by_column(const std::vector<Point>& pts, const Axis& x) {
  if (pts.size() <= kThinAbove) return pts;
  const double scale = (kRight - kLeft) / (x.hi - x.lo);
  auto column = [&](const Point& p) {
    return static_cast<long long>(
        std::floor(std::clamp((p.t - x.lo) * scale, 0.0, kRight - kLeft)));
  };
  std::vector<Point> out;
  out.reserve(4 * static_cast<std::size_t>(kRight - kLeft + 2));
  std::size_t begin = 0;
  while (begin < pts.size()) {
    const long long col = column(pts[begin]);
    std::size_t end = begin + 1;
    std::size_t lo = begin;
    std::size_t hi = begin;
    for (; end < pts.size() && column(pts[end]) == col; ++end) {
      if (pts[end].v < pts[lo].v) lo = end;
      if (pts[end].v > pts[hi].v) hi = end;
    }
    std::array<std::size_t, 4> keep = {begin, lo, hi, end - 1};
    std::sort(keep.begin(), keep.end());
    for (std::size_t i = 0; i < keep.size(); ++i) {
      if (i == 0 || keep[i] != keep[i - 1]) out.push_back(pts[keep[i]]);
    }
    begin = end;
  }
  return out;
}

// Flows legend entries left to right, wrapping into new rows as needed.
std::vector<LegendItem> legend_layout(const std::vector<PlotSeries>& series) {
  std::vector<LegendItem> items;
  double x = kLeft;
  double y = kLegendY;
  for (const PlotSeries& s : series) {
    const double w = 28.0 + kCharWidth * static_cast<double>(glyph_count(s.policy)) + 20.0;
    if (x > kLeft && x + w > kRight) {
      x = kLeft;
      y += kLegendRow;
    }
    items.push_back({x, y});
    x += w;
  }
  return items;
}

}  // namespace

PageLayout page_layout(const std::vector<PlotSeries>& series) {
  PageLayout page;
  page.legend = legend_layout(series);
  const double legend_bottom = page.legend.empty() ? kLegendY : page.legend.back().y;
  const double extra_rows = (legend_bottom - kLegendY) / kLegendRow;
  page.height = kBaseHeight + extra_rows * kLegendRow;

  const double top = legend_bottom + 40.0;
  const double panel_h = (page.height - kBottomSpace - top - 2.0 * kPanelGap) / 3.0;
  for (int i = 0; i < 3; ++i) {
    const double t = top + i * (panel_h + kPanelGap);
    page.frames.push_back({t, t + panel_h});
  }
  return page;
}

// The smallest 1-2-5 step that splits `range` into at most `max_intervals` parts.
double nice_step(double range, int max_intervals) {
  if (!(range > 0.0) || !std::isfinite(range)) return 1.0;
  const double raw = range / max_intervals;
  const double pow10 = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (m * pow10 >= raw * (1.0 - 1e-9)) return m * pow10;
  }
  return 10.0 * pow10;
}

Axis time_axis(const std::vector<PlotSeries>& series, double* unit_s) {
  double lo = 0.0;
  double hi = 0.0;
  double longest = 0.0;
  for (const PlotSeries& s : series) {
    if (s.samples.empty()) continue;
    double first = finite_or_zero(s.samples.front().t_s);
    double last = first;
    for (const Sample& p : s.samples) {
      const double t = finite_or_zero(p.t_s);
      first = std::min(first, t);
      last = std::max(last, t);
    }
    lo = std::min(lo, first);
    hi = std::max(hi, last);
    longest = std::max(longest, last - first);
  }
  if (!(hi > lo)) hi = lo + 1.0;
  *unit_s = longest > 600.0 ? 60.0 : 1.0;
  return {lo, hi, 0.0};
}

// The y axis of one panel: health is always 0..1, counts go to a round number above the peak.
Axis value_axis(const std::vector<PlotSeries>& series, Metric m) {
  if (m == Metric::kHealth) return {0.0, 1.0, 0.2};
  double peak = 0.0;
  for (const PlotSeries& s : series) {
    for (const Sample& p : s.samples) peak = std::max(peak, metric_value(p, m));
  }
  return count_axis(peak);
}

std::vector<Point> line_points(const std::vector<Sample>& samples, Metric m, const Axis& x) {
  return thin_by_column(change_points(samples, m), x);
}

double x_px(const Axis& x, double t) {
  return kLeft + (std::clamp(t, x.lo, x.hi) - x.lo) / (x.hi - x.lo) * (kRight - kLeft);
}

double y_px(const Axis& y, const Frame& f, double v) {
  return f.bottom - (std::clamp(v, y.lo, y.hi) - y.lo) / (y.hi - y.lo) * (f.bottom - f.top);
}

}  // namespace dslmodel::sim::detail

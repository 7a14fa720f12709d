#include "sim/plot.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <iterator>
#include <string_view>

namespace dslmodel::sim {
namespace {

// Fixed page geometry; the height only grows when the legend needs more than one row.
constexpr double kWidth = 960.0;
constexpr double kBaseHeight = 720.0;
constexpr double kLeft = 72.0;    // room for y tick labels
constexpr double kRight = 940.0;  // a little margin for the last time label
constexpr double kTitleY = 30.0;
constexpr double kLegendY = 56.0;  // baseline of the first legend row
constexpr double kLegendRow = 20.0;
constexpr double kPanelGap = 36.0;     // between panels, holds the next panel's label
constexpr double kBottomSpace = 56.0;  // time tick labels and the axis label
constexpr double kCharWidth = 7.0;     // rough advance of a 12 px sans-serif glyph

// Above this many points (after dropping repeats) a line is bucketed by pixel column.
constexpr std::size_t kThinAbove = 4000;

// Tableau 10: distinguishable on white and for most colour-blind readers.
constexpr std::array<std::string_view, 10> kPalette = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728",
                                                       "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                                                       "#bcbd22", "#17becf"};

using Out = std::back_insert_iterator<std::string>;

enum class Metric { kAgents, kQueue, kHealth };

struct Point {
  double t = 0.0;
  double v = 0.0;
};

// A linear axis from 0 (or `lo`) to `hi` with ticks every `step`.
struct Axis {
  double lo = 0.0;
  double hi = 1.0;
  double step = 1.0;
};

// Rectangle of one panel in page coordinates.
struct Frame {
  double top = 0.0;
  double bottom = 0.0;
};

double finite_or_zero(double x) { return std::isfinite(x) ? x : 0.0; }

// XML text and attribute escaping; control characters XML 1.0 forbids are dropped so a stray
// byte in a policy name cannot make the whole document unreadable.
std::string escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        if (static_cast<unsigned char>(c) >= 0x20 || c == '\t' || c == '\n' || c == '\r') {
          out += c;
        }
    }
  }
  return out;
}

// Code points, not bytes, so the legend spacing fits non-ASCII names too.
std::size_t glyph_count(std::string_view s) {
  return static_cast<std::size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

// A coordinate with one decimal, without a useless ".0": keeps big paths small.
void put_coord(Out out, double x) {
  const double r = std::round(x * 10.0) / 10.0;
  if (r == std::floor(r)) {
    fmt::format_to(out, "{}", static_cast<long long>(r));
  } else {
    fmt::format_to(out, "{:.1f}", r);
  }
}

std::string coord(double x) {
  std::string s;
  put_coord(std::back_inserter(s), x);
  return s;
}

// A tick label with just enough decimals for `step`; large values get a k/M suffix so they
// fit the left margin.
std::string tick_label(double v, double step) {
  std::string_view suffix;
  if (std::abs(v) >= 1e6 && step >= 1e5) {
    v /= 1e6;
    step /= 1e6;
    suffix = "M";
  } else if (std::abs(v) >= 1e4 && step >= 1e3) {
    v /= 1e3;
    step /= 1e3;
    suffix = "k";
  }
  int decimals = 0;
  if (step < 1.0)
    decimals = std::clamp(static_cast<int>(std::ceil(-std::log10(step) - 1e-9)), 0, 6);
  if (std::abs(v) < step * 1e-6) v = 0.0;  // no "-0"
  return fmt::format("{:.{}f}{}", v, decimals, suffix);
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

double x_px(const Axis& x, double t) {
  return kLeft + (std::clamp(t, x.lo, x.hi) - x.lo) / (x.hi - x.lo) * (kRight - kLeft);
}

double y_px(const Axis& y, const Frame& f, double v) {
  return f.bottom - (std::clamp(v, y.lo, y.hi) - y.lo) / (y.hi - y.lo) * (f.bottom - f.top);
}

// One step line: horizontal to the next sample's time, then vertical to its value. Repeated
// coordinates (common after rounding to 0.1 px) are skipped.
void put_step_path(Out out, const std::vector<Point>& pts, const Axis& x, const Axis& y,
                   const Frame& f, std::string_view colour) {
  if (pts.empty()) return;
  std::string px = coord(x_px(x, pts[0].t));
  std::string py = coord(y_px(y, f, pts[0].v));
  fmt::format_to(out, R"(<path fill="none" stroke="{}" d="M{},{})", colour, px, py);
  for (std::size_t i = 1; i < pts.size(); ++i) {
    std::string nx = coord(x_px(x, pts[i].t));
    std::string ny = coord(y_px(y, f, pts[i].v));
    if (nx != px) fmt::format_to(out, "H{}", nx);
    if (ny != py) fmt::format_to(out, "V{}", ny);
    px = std::move(nx);
    py = std::move(ny);
  }
  fmt::format_to(out, "\"/>\n");
}

// Frame, horizontal grid, y tick labels and the panel's name above its top-left corner.
void put_panel_frame(Out out, const Frame& f, const Axis& y, std::string_view name) {
  fmt::format_to(out,
                 R"(<text x="{}" y="{}" font-weight="bold" fill="#333">{}</text>)"
                 "\n",
                 coord(kLeft), coord(f.top - 8.0), escape(name));
  const int n = static_cast<int>(std::lround((y.hi - y.lo) / y.step));
  for (int i = 0; i <= n; ++i) {
    const double v = y.lo + i * y.step;
    const std::string py = coord(y_px(y, f, v));
    fmt::format_to(out,
                   R"(<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#e6e6e6"/>)"
                   "\n",
                   coord(kLeft), py, coord(kRight), py);
    fmt::format_to(out,
                   R"(<text x="{}" y="{}" text-anchor="end" dominant-baseline="middle" )"
                   R"(fill="#444">{}</text>)"
                   "\n",
                   coord(kLeft - 6.0), py, tick_label(v, y.step));
  }
}

// The time ticks: vertical grid lines through every panel, labels under the last one.
void put_time_axis(Out out, const Axis& x, double unit_s, const std::vector<Frame>& frames) {
  const double lo_u = x.lo / unit_s;
  const double hi_u = x.hi / unit_s;
  const double step = nice_step(hi_u - lo_u, 8);
  const Frame& last = frames.back();
  for (double k = std::ceil(lo_u / step - 1e-9); k * step <= hi_u * (1.0 + 1e-9); k += 1.0) {
    const double u = k * step;
    const std::string px = coord(x_px(x, u * unit_s));
    for (const Frame& f : frames) {
      fmt::format_to(out,
                     R"(<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#e6e6e6"/>)"
                     "\n",
                     px, coord(f.top), px, coord(f.bottom));
    }
    fmt::format_to(out,
                   R"(<text x="{}" y="{}" text-anchor="middle" fill="#444">{}</text>)"
                   "\n",
                   px, coord(last.bottom + 18.0), tick_label(u, step));
  }
  fmt::format_to(out,
                 R"(<text x="{}" y="{}" text-anchor="middle" fill="#333">{}</text>)"
                 "\n",
                 coord((kLeft + kRight) / 2.0), coord(last.bottom + 40.0),
                 unit_s > 1.0 ? "time (min)" : "time (s)");
}

// Panel borders go on top of the grid but under the lines, so lines at 0 stay visible.
void put_panel_borders(Out out, const std::vector<Frame>& frames) {
  for (const Frame& f : frames) {
    fmt::format_to(out,
                   R"(<rect x="{}" y="{}" width="{}" height="{}" fill="none" stroke="#999"/>)"
                   "\n",
                   coord(kLeft), coord(f.top), coord(kRight - kLeft), coord(f.bottom - f.top));
  }
}

struct LegendItem {
  double x = 0.0;
  double y = 0.0;
};

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

void put_legend(Out out, const std::vector<PlotSeries>& series,
                const std::vector<LegendItem>& items) {
  for (std::size_t i = 0; i < series.size(); ++i) {
    const LegendItem& it = items[i];
    const std::string_view colour = kPalette[i % kPalette.size()];
    fmt::format_to(out,
                   R"(<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}" stroke-width="3"/>)"
                   "\n",
                   coord(it.x), coord(it.y - 4.0), coord(it.x + 22.0), coord(it.y - 4.0), colour);
    fmt::format_to(out,
                   R"(<text x="{}" y="{}" fill="#222">{}</text>)"
                   "\n",
                   coord(it.x + 28.0), coord(it.y), escape(series[i].policy));
  }
}

void put_header(Out out, double height, std::string_view title) {
  fmt::format_to(out,
                 R"(<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{0}" )"
                 R"(height="{1}" viewBox="0 0 {0} {1}" font-family="sans-serif" font-size="12">)"
                 "\n",
                 coord(kWidth), coord(height));
  fmt::format_to(out, R"(<rect width="100%" height="100%" fill="#fff"/>)"
                      "\n");
  fmt::format_to(out,
                 R"(<text x="{}" y="{}" text-anchor="middle" font-size="18" )"
                 R"(font-weight="bold" fill="#111">{}</text>)"
                 "\n",
                 coord(kWidth / 2.0), coord(kTitleY), escape(title));
}

bool has_samples(const std::vector<PlotSeries>& series) {
  return std::any_of(series.begin(), series.end(),
                     [](const PlotSeries& s) { return !s.samples.empty(); });
}

std::string render_empty(const std::string& title) {
  std::string svg;
  Out out(svg);
  put_header(out, kBaseHeight, title);
  fmt::format_to(out,
                 R"(<text x="{}" y="{}" text-anchor="middle" font-size="16" fill="#777">)"
                 R"(no data</text>)"
                 "\n</svg>\n",
                 coord(kWidth / 2.0), coord(kBaseHeight / 2.0));
  return svg;
}

// The time axis covers 0 to the last sample of any series; minutes once a run is long enough
// that second labels would be unwieldy.
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

std::string render(const std::vector<PlotSeries>& series, const std::string& title) {
  if (!has_samples(series)) return render_empty(title);

  const std::vector<LegendItem> legend = legend_layout(series);
  const double legend_bottom = legend.empty() ? kLegendY : legend.back().y;
  const double extra_rows = (legend_bottom - kLegendY) / kLegendRow;
  const double height = kBaseHeight + extra_rows * kLegendRow;

  const double top = legend_bottom + 40.0;
  const double panel_h = (height - kBottomSpace - top - 2.0 * kPanelGap) / 3.0;
  std::vector<Frame> frames;
  for (int i = 0; i < 3; ++i) {
    const double t = top + i * (panel_h + kPanelGap);
    frames.push_back({t, t + panel_h});
  }

  double unit_s = 1.0;
  const Axis x = time_axis(series, &unit_s);
  constexpr std::array<Metric, 3> kMetrics = {Metric::kAgents, Metric::kQueue, Metric::kHealth};
  constexpr std::array<std::string_view, 3> kNames = {"agents", "queue (pending + in progress)",
                                                      "health"};

  std::string svg;
  Out out(svg);
  put_header(out, height, title);
  put_legend(out, series, legend);
  std::array<Axis, 3> y_axes;
  for (std::size_t p = 0; p < 3; ++p) {
    y_axes[p] = value_axis(series, kMetrics[p]);
    put_panel_frame(out, frames[p], y_axes[p], kNames[p]);
  }
  put_time_axis(out, x, unit_s, frames);
  put_panel_borders(out, frames);
  fmt::format_to(out, R"(<g stroke-width="1.5" stroke-linejoin="round" stroke-linecap="round">)"
                      "\n");
  for (std::size_t p = 0; p < 3; ++p) {
    for (std::size_t i = 0; i < series.size(); ++i) {
      const std::vector<Point> pts =
          thin_by_column(change_points(series[i].samples, kMetrics[p]), x);
      put_step_path(out, pts, x, y_axes[p], frames[p], kPalette[i % kPalette.size()]);
    }
  }
  fmt::format_to(out, "</g>\n</svg>\n");
  return svg;
}

}  // namespace

std::string render_svg(const std::vector<PlotSeries>& series, const std::string& title) {
  // Plotting is a side output of a simulation; a failure (out of memory) must not take the
  // caller down, so it degrades to a minimal document.
  try {
    return render(series, title);
  } catch (...) {
    return "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"960\" "
           "height=\"720\" viewBox=\"0 0 960 720\"/>\n";
  }
}

}  // namespace dslmodel::sim

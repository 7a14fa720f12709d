// The simulator's SVG chart (sim/plot.h): renders the layout of plot_layout.h as one
// self-contained SVG document.
#include "sim/plot.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <iterator>
#include <string_view>

#include "sim/plot_layout.h"

namespace dslmodel::sim {
namespace {

using detail::Axis;
using detail::Frame;
using detail::kBaseHeight;
using detail::kLeft;
using detail::kRight;
using detail::kTitleY;
using detail::kWidth;
using detail::LegendItem;
using detail::Metric;
using detail::Point;
using detail::x_px;
using detail::y_px;

// Tableau 10: distinguishable on white and for most colour-blind readers.
constexpr std::array<std::string_view, 10> kPalette = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728",
                                                       "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                                                       "#bcbd22", "#17becf"};

using Out = std::back_insert_iterator<std::string>;

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
  const double step = detail::nice_step(hi_u - lo_u, 8);
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

std::string render(const std::vector<PlotSeries>& series, const std::string& title) {
  if (!has_samples(series)) return render_empty(title);

  const detail::PageLayout page = detail::page_layout(series);
  const std::vector<Frame>& frames = page.frames;
  double unit_s = 1.0;
  const Axis x = detail::time_axis(series, &unit_s);
  constexpr std::array<Metric, 3> kMetrics = {Metric::kAgents, Metric::kQueue, Metric::kHealth};
  constexpr std::array<std::string_view, 3> kNames = {"agents", "queue (pending + in progress)",
                                                      "health"};

  std::string svg;
  Out out(svg);
  put_header(out, page.height, title);
  put_legend(out, series, page.legend);
  std::array<Axis, 3> y_axes;
  for (std::size_t p = 0; p < 3; ++p) {
    y_axes[p] = detail::value_axis(series, kMetrics[p]);
    put_panel_frame(out, frames[p], y_axes[p], kNames[p]);
  }
  put_time_axis(out, x, unit_s, frames);
  put_panel_borders(out, frames);
  fmt::format_to(out, R"(<g stroke-width="1.5" stroke-linejoin="round" stroke-linecap="round">)"
                      "\n");
  for (std::size_t p = 0; p < 3; ++p) {
    for (std::size_t i = 0; i < series.size(); ++i) {
      const std::vector<Point> pts = detail::line_points(series[i].samples, kMetrics[p], x);
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

// The layout of the simulator's SVG chart (sim/plot.h), private to src/sim: page geometry, the
// axes, the legend's flow, and the points each line goes through (repeats dropped, many points
// thinned by pixel column). Rendering them as SVG is plot.cc. Pure; thread-safe.
#pragma once

#include <vector>

#include "sim/plot.h"

namespace dslmodel::sim::detail {

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

struct LegendItem {
  double x = 0.0;
  double y = 0.0;
};

// Where things go on the page: the legend entries (one per series), the page height (it grows
// with the legend's rows) and the three panels, top to bottom.
struct PageLayout {
  std::vector<LegendItem> legend;
  double height = kBaseHeight;
  std::vector<Frame> frames;
};
PageLayout page_layout(const std::vector<PlotSeries>& series);

// The smallest 1-2-5 step that splits `range` into at most `max_intervals` parts.
double nice_step(double range, int max_intervals);

// The time axis covers 0 to the last sample of any series; minutes (*unit_s = 60) once a run is
// long enough that second labels would be unwieldy, else seconds (*unit_s = 1).
Axis time_axis(const std::vector<PlotSeries>& series, double* unit_s);

// The y axis of one panel: health is always 0..1, counts go to a round number above the peak.
Axis value_axis(const std::vector<PlotSeries>& series, Metric m);

// The points of one series' line for metric `m`: where the value changes, thinned by pixel column
// on time axis `x` when there are many.
std::vector<Point> line_points(const std::vector<Sample>& samples, Metric m, const Axis& x);

// Page coordinates of a time and of a value in a panel.
double x_px(const Axis& x, double t);
double y_px(const Axis& y, const Frame& f, double v);

}  // namespace dslmodel::sim::detail

// An SVG chart of simulation runs (`dsl auto simulate --plot FILE.svg`): agents, queue and health
// over time, one line per policy. Pure; thread-safe.
#pragma once

#include <string>
#include <vector>

namespace dslmodel::sim {

// One observation of a run, taken at every engine cycle (and at every change in between).
struct Sample {
  double t_s = 0.0;     // seconds since the start of the trace
  int agents = 0;       // agents running or starting
  int queue = 0;        // pending + in progress
  double health = 0.0;  // the health score the engine measured (0..1)
};

struct PlotSeries {
  std::string policy;           // legend label, e.g. "default", "hpa"
  std::vector<Sample> samples;  // in time order
};

// A self-contained SVG document (no scripts, no external fonts or styles) with three stacked
// panels sharing the time axis: agents, queue, health. Each panel has a y axis with ticks, the
// bottom one a time axis in seconds (or minutes when the run is longer than 10 minutes); one
// coloured step line per series, the same colour in every panel, and a legend. `title` goes on
// top. Text is XML-escaped. Many samples are thinned so the file stays under ~2 MB.
std::string render_svg(const std::vector<PlotSeries>& series, const std::string& title);

}  // namespace dslmodel::sim

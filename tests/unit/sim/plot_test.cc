#include "sim/plot.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstddef>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

namespace dslmodel::sim {
namespace {

// Checks that every element is closed in order and that '&' only starts a known entity. Not a
// full XML parser, but enough to catch broken markup or unescaped text. Returns "" when fine.
std::string xml_problem(std::string_view doc) {
  std::vector<std::string> open;
  std::size_t i = 0;
  while (i < doc.size()) {
    if (doc[i] == '&') {
      const std::size_t semi = doc.find(';', i);
      if (semi == std::string_view::npos) return "unterminated entity";
      const std::string_view name = doc.substr(i + 1, semi - i - 1);
      if (name != "amp" && name != "lt" && name != "gt" && name != "quot" && name != "apos" &&
          (name.empty() || name[0] != '#')) {
        return "unknown entity &" + std::string(name) + ";";
      }
      i = semi + 1;
      continue;
    }
    if (doc[i] == '>') return "stray '>' at " + std::to_string(i);
    if (doc[i] != '<') {
      ++i;
      continue;
    }
    if (doc.substr(i, 2) == "<?") {  // prolog or processing instruction
      const std::size_t end = doc.find("?>", i);
      if (end == std::string_view::npos) return "unterminated <?";
      i = end + 2;
      continue;
    }
    if (doc.substr(i, 4) == "<!--") {
      const std::size_t end = doc.find("-->", i);
      if (end == std::string_view::npos) return "unterminated comment";
      i = end + 3;
      continue;
    }
    // Attribute values are escaped, so the first '>' closes the tag.
    const std::size_t end = doc.find('>', i);
    if (end == std::string_view::npos) return "unterminated tag";
    const std::string_view tag = doc.substr(i + 1, end - i - 1);
    if (doc.substr(i + 1, end - i - 1).find('<') != std::string_view::npos) {
      return "'<' inside a tag at " + std::to_string(i);
    }
    const bool closing = !tag.empty() && tag[0] == '/';
    const bool self_closing = !tag.empty() && tag.back() == '/';
    std::size_t n = closing ? 1 : 0;
    std::string name;
    while (n < tag.size() && !std::isspace(static_cast<unsigned char>(tag[n])) && tag[n] != '/') {
      name += tag[n++];
    }
    if (name.empty()) return "tag without a name at " + std::to_string(i);
    if (closing) {
      if (open.empty() || open.back() != name) return "unbalanced </" + name + ">";
      open.pop_back();
    } else if (!self_closing) {
      open.push_back(name);
    }
    i = end + 1;
  }
  if (!open.empty()) return "unclosed <" + open.back() + ">";
  return "";
}

std::size_t count(std::string_view hay, std::string_view needle) {
  std::size_t n = 0;
  for (std::size_t at = hay.find(needle); at != std::string_view::npos;
       at = hay.find(needle, at + needle.size())) {
    ++n;
  }
  return n;
}

// Occurrences of `word` (any case) that do not continue a longer word, as "-nan" or "inf" in a
// number would; "dominant-baseline" does not count.
std::size_t number_like(std::string_view doc, std::string_view word) {
  std::string lower(doc);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::size_t n = 0;
  for (std::size_t at = lower.find(word); at != std::string::npos; at = lower.find(word, at + 1)) {
    if (at == 0 || !std::isalpha(static_cast<unsigned char>(lower[at - 1]))) ++n;
  }
  return n;
}

// A run lasting `seconds` with a sample every `dt` seconds and values that keep changing.
PlotSeries run(std::string policy, double seconds, double dt, int agents_base = 2) {
  PlotSeries s{std::move(policy), {}};
  int i = 0;
  for (double t = 0.0; t <= seconds; t += dt, ++i) {
    s.samples.push_back({t, agents_base + i % 3, (i * 7) % 40, 0.5 + 0.4 * std::sin(t / 30.0)});
  }
  return s;
}

TEST(PlotSvg, IsAStandaloneBalancedDocument) {
  const std::string svg = render_svg({run("default", 60, 1), run("hpa", 60, 1)}, "demo");
  EXPECT_EQ(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0), 0u);
  EXPECT_NE(svg.find("viewBox="), std::string::npos);
  EXPECT_NE(svg.find("width="), std::string::npos);
  EXPECT_NE(svg.find("height="), std::string::npos);
  EXPECT_EQ(xml_problem(svg), "");
  EXPECT_EQ(svg.find("<script"), std::string::npos);
  EXPECT_EQ(svg.find("href"), std::string::npos);
}

TEST(PlotSvg, OneLinePerSeriesPerPanelAndALegend) {
  const std::vector<PlotSeries> series = {run("default", 60, 1), run("hpa", 60, 1),
                                          run("predictive", 60, 1)};
  const std::string svg = render_svg(series, "three");
  EXPECT_EQ(count(svg, "<path"), 3u * series.size());
  EXPECT_EQ(count(svg, "fill=\"none\" stroke=\"#1f77b4\" d="), 3u);  // same colour everywhere
  for (const PlotSeries& s : series) {
    EXPECT_NE(svg.find(">" + s.policy + "</text>"), std::string::npos) << s.policy;
  }
  EXPECT_NE(svg.find(">agents</text>"), std::string::npos);
  EXPECT_NE(svg.find(">queue (pending + in progress)</text>"), std::string::npos);
  EXPECT_NE(svg.find(">health</text>"), std::string::npos);
}

TEST(PlotSvg, ColoursCycleBeyondThePalette) {
  std::vector<PlotSeries> series;
  for (int i = 0; i < 12; ++i) series.push_back(run("p" + std::to_string(i), 30, 1));
  const std::string svg = render_svg(series, "many");
  EXPECT_EQ(count(svg, "<path"), 36u);
  EXPECT_EQ(xml_problem(svg), "");
}

TEST(PlotSvg, EscapesTitleAndPolicyNames) {
  const std::string svg = render_svg({run("x'<y>", 10, 1)}, "a<b & \"c\"");
  EXPECT_NE(svg.find("a&lt;b &amp; &quot;c&quot;"), std::string::npos);
  EXPECT_NE(svg.find("x&apos;&lt;y&gt;"), std::string::npos);
  EXPECT_EQ(svg.find("a<b"), std::string::npos);
  EXPECT_EQ(xml_problem(svg), "");
}

TEST(PlotSvg, TimeAxisInMinutesForLongRuns) {
  const std::string svg = render_svg({run("default", 2 * 3600, 10)}, "two hours");
  EXPECT_NE(svg.find(">time (min)</text>"), std::string::npos);
  EXPECT_EQ(svg.find(">time (s)</text>"), std::string::npos);
  EXPECT_NE(svg.find(">120</text>"), std::string::npos);  // the last minute tick
}

TEST(PlotSvg, TimeAxisInSecondsForShortRuns) {
  const std::string svg = render_svg({run("default", 60, 0.5)}, "a minute");
  EXPECT_NE(svg.find(">time (s)</text>"), std::string::npos);
  EXPECT_EQ(svg.find(">time (min)</text>"), std::string::npos);
  EXPECT_NE(svg.find(">60</text>"), std::string::npos);
}

TEST(PlotSvg, NonFiniteValuesNeverReachTheOutput) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  PlotSeries s{"bad", {{0.0, 1, 1, nan}, {nan, 2, 3, inf}, {5.0, 3, 2, -inf}, {inf, 1, 1, 2.0}}};
  const std::string svg = render_svg({s}, "non-finite");
  EXPECT_EQ(number_like(svg, "nan"), 0u);
  EXPECT_EQ(number_like(svg, "inf"), 0u);
  EXPECT_EQ(count(svg, "<path"), 3u);
  EXPECT_EQ(xml_problem(svg), "");
}

TEST(PlotSvg, HealthAxisIsFixedAndCountsGetRoundTicks) {
  PlotSeries s{"x", {{0.0, 37, 1234, 0.9}, {10.0, 5, 10, 0.1}}};
  const std::string svg = render_svg({s}, "ticks");
  EXPECT_NE(svg.find(">0.2</text>"), std::string::npos);
  EXPECT_NE(svg.find(">1.0</text>"), std::string::npos);
  EXPECT_NE(svg.find(">40</text>"), std::string::npos);    // agents 0..40
  EXPECT_NE(svg.find(">1500</text>"), std::string::npos);  // queue 0..1500
}

TEST(PlotSvg, ThinsHugeSeriesBelowTwoMegabytes) {
  std::vector<PlotSeries> series;
  for (int k = 0; k < 4; ++k) {
    PlotSeries s{"policy" + std::to_string(k), {}};
    s.samples.reserve(200000);
    for (int i = 0; i < 200000; ++i) {
      // Values change at every sample: the worst case for a step line.
      s.samples.push_back({i * 0.05, k + i % 5, (i * 13 + k) % 97, (i % 11) / 10.0});
    }
    series.push_back(std::move(s));
  }
  const std::string svg = render_svg(series, "big");
  EXPECT_LT(svg.size(), 2u * 1024 * 1024);
  EXPECT_EQ(count(svg, "<path"), 12u);
  EXPECT_EQ(xml_problem(svg), "");
}

// The y coordinates a path visits, as written after each 'V'.
std::vector<std::string> path_ys(std::string_view path) {
  std::vector<std::string> ys;
  for (std::size_t at = path.find('V'); at != std::string_view::npos; at = path.find('V', at)) {
    const std::size_t end = path.find_first_of("HV\"", at + 1);
    ys.emplace_back(path.substr(at + 1, end - at - 1));
    at = end;
  }
  return ys;
}

TEST(PlotSvg, ThinningKeepsASingleSpike) {
  PlotSeries s{"spiky", {}};
  for (int i = 0; i < 100000; ++i) s.samples.push_back({i * 0.1, 1 + i % 2, 0, 1.0});
  s.samples[54321].agents = 50;
  const std::string svg = render_svg({s}, "spike");
  const std::size_t at = svg.find("<path");
  ASSERT_NE(at, std::string::npos);
  const std::string path = svg.substr(at, svg.find("/>", at) - at);
  EXPECT_LT(path.size(), 100000u);  // thinned: 100,000 changes would need ~1 MB
  std::vector<std::string> ys = path_ys(path);
  std::sort(ys.begin(), ys.end());
  ys.erase(std::unique(ys.begin(), ys.end()), ys.end());
  EXPECT_EQ(ys.size(), 3u);  // the levels of 1, 2 and the spike of 50
}

TEST(PlotSvg, SmallSeriesAreDrawnExactly) {
  // 0 -> 4 -> 4 -> 0: the step up at t=1 and down at t=3 both appear, the repeat does not.
  PlotSeries s{"x", {{0.0, 0, 0, 0.0}, {1.0, 4, 0, 0.0}, {2.0, 4, 0, 0.0}, {3.0, 0, 0, 0.0}}};
  const std::string svg = render_svg({s}, "steps");
  const std::size_t at = svg.find("<path");
  ASSERT_NE(at, std::string::npos);
  const std::string path = svg.substr(at, svg.find("/>", at) - at);
  EXPECT_EQ(count(path, "V"), 2u) << path;
  EXPECT_EQ(count(path, "H"), 2u) << path;
}

TEST(PlotSvg, EmptyInputSaysNoData) {
  for (const std::vector<PlotSeries>& input :
       {std::vector<PlotSeries>{}, std::vector<PlotSeries>{{"idle", {}}}}) {
    const std::string svg = render_svg(input, "empty & quiet");
    EXPECT_EQ(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0), 0u);
    EXPECT_NE(svg.find("no data"), std::string::npos);
    EXPECT_NE(svg.find("empty &amp; quiet"), std::string::npos);
    EXPECT_EQ(count(svg, "<path"), 0u);
    EXPECT_EQ(xml_problem(svg), "");
  }
}

TEST(PlotSvg, SeriesWithoutSamplesNextToOthersOnlyGetsALegendEntry) {
  const std::string svg = render_svg({run("busy", 20, 1), {"idle", {}}}, "mixed");
  EXPECT_EQ(count(svg, "<path"), 3u);
  EXPECT_NE(svg.find(">idle</text>"), std::string::npos);
  EXPECT_EQ(xml_problem(svg), "");
}

TEST(PlotXmlChecker, CatchesBrokenMarkup) {
  EXPECT_EQ(xml_problem("<?xml version=\"1.0\"?><a><b/><c>x &amp; y</c></a>"), "");
  EXPECT_NE(xml_problem("<a><b></a>"), "");
  EXPECT_NE(xml_problem("<a>x & y</a>"), "");
  EXPECT_NE(xml_problem("<a>1 > 0</a>"), "");
  EXPECT_NE(xml_problem("<a>"), "");
}

}  // namespace
}  // namespace dslmodel::sim

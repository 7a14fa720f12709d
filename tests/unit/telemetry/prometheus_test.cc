#include "telemetry/prometheus.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <thread>
#include <vector>

namespace dslmodel::telemetry {
namespace {

TEST(FormatValue, ShortestRoundTripAndSpecials) {
  EXPECT_EQ(format_value(0), "0");
  EXPECT_EQ(format_value(3), "3");
  EXPECT_EQ(format_value(0.85), "0.85");
  EXPECT_EQ(format_value(-1.5), "-1.5");
  EXPECT_EQ(format_value(1e21), "1e+21");
  EXPECT_EQ(format_value(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(format_value(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(format_value(std::nan("")), "NaN");
}

TEST(Escape, LabelValuesAndHelp) {
  EXPECT_EQ(escape_label_value("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
  EXPECT_EQ(escape_help("a\\b\"c\nd"), "a\\\\b\"c\\nd");
}

TEST(Registry, GoldenExposition) {
  Registry r(Labels{{"environment", "production"}});
  r.add_gauge("g", "A gauge.").set(0.5);
  Counter& c = r.add_counter("c_total", "A counter\nwith \\ help.");
  c.inc(2, {{"type", "scale_up"}});
  c.inc(1, {{"type", "a\"b"}});
  Histogram& h = r.add_histogram("d_seconds", "Durations.", {0.1, 1});
  h.observe(0.05);
  h.observe(0.1);
  h.observe(5);
  EXPECT_EQ(r.render(),
            "# HELP g A gauge.\n"
            "# TYPE g gauge\n"
            "g{environment=\"production\"} 0.5\n"
            "# HELP c_total A counter\\nwith \\\\ help.\n"
            "# TYPE c_total counter\n"
            "c_total{environment=\"production\",type=\"a\\\"b\"} 1\n"
            "c_total{environment=\"production\",type=\"scale_up\"} 2\n"
            "# HELP d_seconds Durations.\n"
            "# TYPE d_seconds histogram\n"
            "d_seconds_bucket{environment=\"production\",le=\"0.1\"} 2\n"
            "d_seconds_bucket{environment=\"production\",le=\"1\"} 2\n"
            "d_seconds_bucket{environment=\"production\",le=\"+Inf\"} 3\n"
            "d_seconds_sum{environment=\"production\"} 5.15\n"
            "d_seconds_count{environment=\"production\"} 3\n");
}

TEST(Registry, NoLabelsRendersBareNames) {
  Registry r;
  r.add_gauge("g", "G.").set(1);
  EXPECT_EQ(r.render(), "# HELP g G.\n# TYPE g gauge\ng 1\n");
}

TEST(Histogram, BucketsAreCumulativeAndBoundsInclusive) {
  Registry r;
  Histogram& h = r.add_histogram("h", "H.", {1, 0.5, 2});  // unsorted on purpose
  for (double v : {0.5, 0.6, 1.0, 2.5, 2.5}) h.observe(v, {{"k", "v"}});
  EXPECT_EQ(h.count({{"k", "v"}}), 5U);
  const std::string text = r.render();
  EXPECT_NE(text.find("h_bucket{k=\"v\",le=\"0.5\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("h_bucket{k=\"v\",le=\"1\"} 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("h_bucket{k=\"v\",le=\"2\"} 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("h_bucket{k=\"v\",le=\"+Inf\"} 5\n"), std::string::npos) << text;
  EXPECT_NE(text.find("h_count{k=\"v\"} 5\n"), std::string::npos) << text;
}

TEST(Counter, IgnoresNegativeIncrements) {
  Registry r;
  Counter& c = r.add_counter("x_total", "X.");
  c.inc(2);
  c.inc(-1);
  EXPECT_EQ(c.value(), 2);
}

TEST(Counter, ConcurrentIncrementsAllCount) {
  Registry r;
  Counter& c = r.add_counter("x_total", "X.");
  std::vector<std::thread> threads;
  threads.reserve(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) c.inc();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(c.value(), 40000);
}

TEST(EngineMetrics, RecordFillsTheStandardSet) {
  EngineMetrics m(Labels{{"environment", "production"}});
  CycleSample s;
  s.health_score = 0.75;
  s.active_agents = 3;
  s.work_queue_size = 4;
  s.telemetry_volume = 20;
  s.completion_rate = 0.5;
  s.is_leader = true;
  s.decided_types = {"scale_up", "scale_up", "rebalance"};
  s.executed_types = {"scale_up"};
  s.failed_types = {"rebalance"};
  s.skipped_reasons = {"dry_run"};
  s.duration_s = 0.02;
  s.spans_dropped_total = 7;
  m.record(s);
  s.spans_dropped_total = 9;
  m.record(s);
  m.otlp_spans_received().inc(10);
  const std::string text = m.render();
  for (const char* line : {
           "autonomous_health_score{environment=\"production\"} 0.75\n",
           "autonomous_active_agents{environment=\"production\"} 3\n",
           "autonomous_work_queue_size{environment=\"production\"} 4\n",
           "autonomous_completion_rate{environment=\"production\"} 0.5\n",
           "autonomous_telemetry_volume{environment=\"production\"} 20\n",
           "autonomous_is_leader{environment=\"production\"} 1\n",
           "autonomous_cycles_total{environment=\"production\"} 2\n",
           "autonomous_decisions_total{environment=\"production\",type=\"scale_up\"} 4\n",
           "autonomous_decisions_executed_total{environment=\"production\",type=\"scale_up\"} 2\n",
           "autonomous_decisions_failed_total{environment=\"production\",type=\"rebalance\"} 2\n",
           "autonomous_decisions_skipped_total{environment=\"production\",reason=\"dry_run\"} 2\n",
           "autonomous_spans_dropped_total{environment=\"production\"} 9\n",
           "autonomous_otlp_spans_received_total{environment=\"production\"} 10\n",
           "autonomous_otlp_requests_rejected_total{environment=\"production\"} 0\n",
           "autonomous_cycle_duration_seconds_count{environment=\"production\"} 2\n",
           "# TYPE autonomous_cycle_duration_seconds histogram\n",
       }) {
    EXPECT_NE(text.find(line), std::string::npos) << line << "\n---\n" << text;
  }
}

}  // namespace
}  // namespace dslmodel::telemetry

// A small Prometheus registry and its text exposition (format 0.0.4), plus dslmodel's standard
// metric set.
//
// Thread-safety: every member function of Gauge, Counter, Histogram, Registry and EngineMetrics
// may be called concurrently from any thread (each metric guards its series with its own mutex;
// the registry guards its list). Metrics are owned by their registry and live as long as it does;
// the references `add_*` returns stay valid until then. No function throws.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dslmodel::telemetry {

// Label pairs (name, value) in the order they are rendered. Names must match
// [a-zA-Z_][a-zA-Z0-9_]*; values are any UTF-8 (escaped when rendered).
using Labels = std::vector<std::pair<std::string, std::string>>;

// Renders a sample value as Prometheus expects: shortest round-trip decimal ("0.85", "3",
// "1e+21"), "NaN", "+Inf", "-Inf".
std::string format_value(double v);

// Escapes a label value: backslash, double quote and line feed.
std::string escape_label_value(std::string_view v);

// Escapes a HELP text: backslash and line feed.
std::string escape_help(std::string_view v);

// A family of samples sharing a name; one series per distinct label set.
class Metric {
 public:
  Metric(std::string name, std::string help) : name_(std::move(name)), help_(std::move(help)) {}
  virtual ~Metric() = default;
  Metric(const Metric&) = delete;
  Metric& operator=(const Metric&) = delete;

  const std::string& name() const { return name_; }
  // Appends HELP, TYPE and every series to `out`, each label set prefixed by `constant`.
  virtual void render(const Labels& constant, std::string& out) const = 0;

 protected:
  void render_header(std::string_view type, std::string& out) const;

 private:
  std::string name_;
  std::string help_;
};

class Gauge final : public Metric {
 public:
  using Metric::Metric;
  void set(double v, const Labels& labels = {});
  void add(double delta, const Labels& labels = {});
  // The series' value; 0 when it was never set.
  double value(const Labels& labels = {}) const;
  void render(const Labels& constant, std::string& out) const override;

 private:
  mutable std::mutex mu_;
  std::map<Labels, double> series_;  // guarded by mu_
};

// REQUIRES: the name ends in "_total". A series appears once it is first incremented (inc(0)
// declares it at zero).
class Counter final : public Metric {
 public:
  using Metric::Metric;
  // REQUIRES: by >= 0 (negative increments are ignored).
  void inc(double by = 1.0, const Labels& labels = {});
  double value(const Labels& labels = {}) const;
  void render(const Labels& constant, std::string& out) const override;

 private:
  mutable std::mutex mu_;
  std::map<Labels, double> series_;  // guarded by mu_
};

// Cumulative buckets with upper bounds `bounds` (sorted ascending, +Inf implied), _sum, _count.
class Histogram final : public Metric {
 public:
  Histogram(std::string name, std::string help, std::vector<double> bounds);
  void observe(double v, const Labels& labels = {});
  // Observations so far in the series.
  std::uint64_t count(const Labels& labels = {}) const;
  void render(const Labels& constant, std::string& out) const override;

 private:
  struct Series {
    std::vector<std::uint64_t> buckets;  // per bound, not cumulative; last is +Inf
    double sum = 0;
    std::uint64_t count = 0;
  };
  std::vector<double> bounds_;
  mutable std::mutex mu_;
  std::map<Labels, Series> series_;  // guarded by mu_
};

class Registry {
 public:
  // `constant_labels` are prepended to every sample (e.g. {{"environment","production"}}).
  explicit Registry(Labels constant_labels = {});
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Registers a metric. REQUIRES: a valid metric name not registered before.
  Gauge& add_gauge(std::string name, std::string help);
  Counter& add_counter(std::string name, std::string help);
  Histogram& add_histogram(std::string name, std::string help, std::vector<double> bounds);

  // The text exposition format 0.0.4, metrics in registration order, ending in "\n" (empty when
  // nothing is registered). Serve with kContentType.
  std::string render() const;

  static constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

 private:
  template <typename M, typename... Args>
  M& add(Args&&... args);

  const Labels constant_;
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Metric>> metrics_;  // guarded by mu_
};

// What the loop knows after one cycle (plain values: callers need not include anything else).
struct CycleSample {
  double health_score = 0;
  std::int64_t active_agents = 0;
  std::int64_t work_queue_size = 0;
  std::int64_t telemetry_volume = 0;
  double completion_rate = 0;
  bool is_leader = false;
  std::vector<std::string> decided_types;    // one entry per decision made, e.g. "scale_up"
  std::vector<std::string> executed_types;   // one per decision executed successfully
  std::vector<std::string> failed_types;     // one per decision whose execution failed
  std::vector<std::string> skipped_reasons;  // one per decision skipped, e.g. "dry_run"
  double duration_s = 0;
  // Cumulative spans the exporter dropped since start (the counter follows its increases).
  std::int64_t spans_dropped_total = 0;
};

// Why `name` cannot be a constant label of EngineMetrics; empty when it can. A name must match
// the exposition grammar [a-zA-Z_][a-zA-Z0-9_]* (anything else breaks every scrape), must not
// start with "__" (reserved by Prometheus) and must not be a label the metrics set themselves
// (type, reason, le): a sample cannot carry one label twice.
std::string constant_label_error(std::string_view name);

// dslmodel's standard metric set, all names starting "autonomous_" (docs/metrics.md).
class EngineMetrics {
 public:
  explicit EngineMetrics(Labels constant_labels = {});

  // Sets the gauges, bumps autonomous_cycles_total and the decision counters, observes the
  // cycle duration.
  void record(const CycleSample& s);

  Registry& registry() { return registry_; }
  std::string render() const { return registry_.render(); }

  // For the OTLP receiver (ReceiverConfig).
  Counter& otlp_spans_received() { return *otlp_spans_received_; }
  Counter& otlp_requests_rejected() { return *otlp_requests_rejected_; }

  // Default cycle-duration bucket bounds, in seconds.
  static std::vector<double> default_duration_buckets();

 private:
  Registry registry_;
  Gauge* health_score_;
  Gauge* active_agents_;
  Gauge* work_queue_size_;
  Gauge* completion_rate_;
  Gauge* telemetry_volume_;
  Gauge* is_leader_;
  Counter* cycles_;
  Counter* decisions_;
  Counter* executed_;
  Counter* failed_;
  Counter* skipped_;
  Counter* spans_dropped_;
  Counter* otlp_spans_received_;
  Counter* otlp_requests_rejected_;
  Histogram* cycle_duration_;
  std::mutex dropped_mu_;
  std::int64_t dropped_seen_ = 0;  // guarded by dropped_mu_
};

}  // namespace dslmodel::telemetry

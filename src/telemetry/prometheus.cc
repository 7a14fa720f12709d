#include "telemetry/prometheus.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdlib>

namespace dslmodel::telemetry {

std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  std::array<char, 32> buf{};
  auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  if (ec != std::errc()) return "NaN";
  return {buf.data(), end};
}

std::string constant_label_error(std::string_view name) {
  const auto letter = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
  };
  const auto digit = [](char c) { return c >= '0' && c <= '9'; };
  const bool grammar =
      !name.empty() && letter(name.front()) &&
      std::all_of(name.begin(), name.end(), [&](char c) { return letter(c) || digit(c); });
  if (!grammar) return "a label name must match [a-zA-Z_][a-zA-Z0-9_]*";
  if (name.starts_with("__")) return "label names starting with __ are reserved by Prometheus";
  for (std::string_view own : {"type", "reason", "le"}) {
    if (name == own) return "the metrics set the label \"" + std::string(own) + "\" themselves";
  }
  return {};
}

std::string escape_label_value(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string escape_help(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

namespace {

void append_labels(const Labels& constant, const Labels& own,
                   const std::pair<std::string, std::string>* extra, std::string& out) {
  if (constant.empty() && own.empty() && extra == nullptr) return;
  out += '{';
  bool first = true;
  auto put = [&](const std::pair<std::string, std::string>& l) {
    if (!first) out += ',';
    first = false;
    out += l.first;
    out += "=\"";
    out += escape_label_value(l.second);
    out += '"';
  };
  for (const auto& l : constant) put(l);
  for (const auto& l : own) put(l);
  if (extra != nullptr) put(*extra);
  out += '}';
}

void append_sample(std::string_view name, const Labels& constant, const Labels& own,
                   const std::pair<std::string, std::string>* extra, std::string_view value,
                   std::string& out) {
  out += name;
  append_labels(constant, own, extra, out);
  out += ' ';
  out += value;
  out += '\n';
}

void render_series(std::string_view name, const Labels& constant,
                   const std::map<Labels, double>& series, std::string& out) {
  for (const auto& [labels, v] : series) {
    append_sample(name, constant, labels, nullptr, format_value(v), out);
  }
}

}  // namespace

void Metric::render_header(std::string_view type, std::string& out) const {
  out += "# HELP ";
  out += name_;
  out += ' ';
  out += escape_help(help_);
  out += "\n# TYPE ";
  out += name_;
  out += ' ';
  out += type;
  out += '\n';
}

void Gauge::set(double v, const Labels& labels) {
  std::lock_guard lock(mu_);
  series_[labels] = v;
}

void Gauge::add(double delta, const Labels& labels) {
  std::lock_guard lock(mu_);
  series_[labels] += delta;
}

double Gauge::value(const Labels& labels) const {
  std::lock_guard lock(mu_);
  auto it = series_.find(labels);
  return it == series_.end() ? 0.0 : it->second;
}

void Gauge::render(const Labels& constant, std::string& out) const {
  render_header("gauge", out);
  std::lock_guard lock(mu_);
  render_series(name(), constant, series_, out);
}

void Counter::inc(double by, const Labels& labels) {
  if (!(by >= 0)) return;
  std::lock_guard lock(mu_);
  series_[labels] += by;
}

double Counter::value(const Labels& labels) const {
  std::lock_guard lock(mu_);
  auto it = series_.find(labels);
  return it == series_.end() ? 0.0 : it->second;
}

void Counter::render(const Labels& constant, std::string& out) const {
  render_header("counter", out);
  std::lock_guard lock(mu_);
  render_series(name(), constant, series_, out);
}

Histogram::Histogram(std::string name, std::string help, std::vector<double> bounds)
    : Metric(std::move(name), std::move(help)), bounds_(std::move(bounds)) {
  std::sort(bounds_.begin(), bounds_.end());
  bounds_.erase(std::unique(bounds_.begin(), bounds_.end()), bounds_.end());
  std::erase_if(bounds_, [](double b) { return std::isnan(b) || std::isinf(b); });
}

void Histogram::observe(double v, const Labels& labels) {
  std::lock_guard lock(mu_);
  Series& s = series_[labels];
  if (s.buckets.empty()) s.buckets.assign(bounds_.size() + 1, 0);
  auto it = std::lower_bound(bounds_.begin(), bounds_.end(), v);
  ++s.buckets[static_cast<std::size_t>(it - bounds_.begin())];
  s.sum += v;
  ++s.count;
}

std::uint64_t Histogram::count(const Labels& labels) const {
  std::lock_guard lock(mu_);
  auto it = series_.find(labels);
  return it == series_.end() ? 0 : it->second.count;
}

void Histogram::render(const Labels& constant, std::string& out) const {
  render_header("histogram", out);
  const std::string bucket = name() + "_bucket";
  std::lock_guard lock(mu_);
  for (const auto& [labels, s] : series_) {
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i <= bounds_.size(); ++i) {
      cumulative += s.buckets[i];
      std::pair<std::string, std::string> le{
          "le", i < bounds_.size() ? format_value(bounds_[i]) : std::string("+Inf")};
      append_sample(bucket, constant, labels, &le, std::to_string(cumulative), out);
    }
    append_sample(name() + "_sum", constant, labels, nullptr, format_value(s.sum), out);
    append_sample(name() + "_count", constant, labels, nullptr, std::to_string(s.count), out);
  }
}

Registry::Registry(Labels constant_labels) : constant_(std::move(constant_labels)) {}

template <typename M, typename... Args>
M& Registry::add(Args&&... args) {
  auto m = std::make_unique<M>(std::forward<Args>(args)...);
  M& ref = *m;
  std::lock_guard lock(mu_);
  for (const auto& existing : metrics_) {
    if (existing->name() == ref.name()) std::abort();  // broken invariant: duplicate name
  }
  metrics_.push_back(std::move(m));
  return ref;
}

Gauge& Registry::add_gauge(std::string name, std::string help) {
  return add<Gauge>(std::move(name), std::move(help));
}

Counter& Registry::add_counter(std::string name, std::string help) {
  if (!name.ends_with("_total")) std::abort();  // broken invariant: counters end in _total
  return add<Counter>(std::move(name), std::move(help));
}

Histogram& Registry::add_histogram(std::string name, std::string help, std::vector<double> bounds) {
  return add<Histogram>(std::move(name), std::move(help), std::move(bounds));
}

std::string Registry::render() const {
  std::string out;
  std::lock_guard lock(mu_);
  for (const auto& m : metrics_) m->render(constant_, out);
  return out;
}

std::vector<double> EngineMetrics::default_duration_buckets() {
  return {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
}

EngineMetrics::EngineMetrics(Labels constant_labels) : registry_(std::move(constant_labels)) {
  Registry& r = registry_;
  health_score_ = &r.add_gauge("autonomous_health_score", "System health score, 0 to 1.");
  active_agents_ =
      &r.add_gauge("autonomous_active_agents", "Agents active with a fresh heartbeat.");
  work_queue_size_ = &r.add_gauge("autonomous_work_queue_size",
                                  "Work items not yet finished (pending or claimed).");
  completion_rate_ =
      &r.add_gauge("autonomous_completion_rate", "Share of work completed successfully.");
  telemetry_volume_ =
      &r.add_gauge("autonomous_telemetry_volume", "Telemetry records (spans) seen.");
  is_leader_ = &r.add_gauge("autonomous_is_leader", "1 when this engine holds leadership, else 0.");
  cycles_ = &r.add_counter("autonomous_cycles_total", "Autonomous cycles completed.");
  decisions_ = &r.add_counter("autonomous_decisions_total", "Decisions made, by type.");
  executed_ = &r.add_counter("autonomous_decisions_executed_total",
                             "Decisions executed successfully, by type.");
  failed_ = &r.add_counter("autonomous_decisions_failed_total",
                           "Decisions whose execution failed, by type.");
  skipped_ =
      &r.add_counter("autonomous_decisions_skipped_total", "Decisions not executed, by reason.");
  spans_dropped_ = &r.add_counter("autonomous_spans_dropped_total", "Spans the exporter dropped.");
  otlp_spans_received_ = &r.add_counter("autonomous_otlp_spans_received_total",
                                        "Spans accepted by the OTLP receiver.");
  otlp_requests_rejected_ = &r.add_counter("autonomous_otlp_requests_rejected_total",
                                           "Requests the OTLP receiver rejected.");
  cycle_duration_ =
      &r.add_histogram("autonomous_cycle_duration_seconds", "Duration of one autonomous cycle.",
                       default_duration_buckets());
  for (Counter* c : {cycles_, spans_dropped_, otlp_spans_received_, otlp_requests_rejected_})
    c->inc(0);
}

void EngineMetrics::record(const CycleSample& s) {
  health_score_->set(s.health_score);
  active_agents_->set(static_cast<double>(s.active_agents));
  work_queue_size_->set(static_cast<double>(s.work_queue_size));
  completion_rate_->set(s.completion_rate);
  telemetry_volume_->set(static_cast<double>(s.telemetry_volume));
  is_leader_->set(s.is_leader ? 1.0 : 0.0);
  cycles_->inc();
  for (const auto& t : s.decided_types) decisions_->inc(1, {{"type", t}});
  for (const auto& t : s.executed_types) executed_->inc(1, {{"type", t}});
  for (const auto& t : s.failed_types) failed_->inc(1, {{"type", t}});
  for (const auto& r : s.skipped_reasons) skipped_->inc(1, {{"reason", r}});
  cycle_duration_->observe(s.duration_s);
  std::lock_guard lock(dropped_mu_);
  if (s.spans_dropped_total > dropped_seen_) {
    spans_dropped_->inc(static_cast<double>(s.spans_dropped_total - dropped_seen_));
    dropped_seen_ = s.spans_dropped_total;
  }
}

}  // namespace dslmodel::telemetry

#include "app/observability.h"

#include "app/commands.h"
#include "core/json_text.h"
#include "factory/backends.h"
#include "telemetry/file_exporter.h"
#include "telemetry/otel_env.h"
#include "telemetry/otlp_http_exporter.h"

namespace dslmodel::app {

Result<std::unique_ptr<SpanExporter>> make_span_exporter(const std::string& spans_file,
                                                         const EnvLookup& env) {
  auto settings = telemetry::otel_settings_from_env(env);
  if (!settings.ok()) return settings.status();
  if (!spans_file.empty()) {
    auto f = telemetry::FileExporter::create(spans_file, settings->resource);
    if (!f.ok()) {
      return Status(ErrorCode::kInvalidArgument, "--spans-file: " + f.status().message());
    }
    return std::unique_ptr<SpanExporter>(std::move(f).value());
  }
  if (settings->disabled || settings->traces_endpoint.empty()) {
    return std::unique_ptr<SpanExporter>();
  }
  telemetry::OtlpHttpConfig c;
  c.endpoint = settings->traces_endpoint;
  c.resource = settings->resource;
  auto h = telemetry::OtlpHttpExporter::create(std::move(c));
  if (!h.ok()) return h.status();
  return std::unique_ptr<SpanExporter>(std::move(h).value());
}

namespace {

telemetry::Labels labels_of(const Config& config) {
  telemetry::Labels out;
  for (const auto& [k, v] : config.labels) out.emplace_back(k, v);
  return out;
}

std::vector<std::string> types_of(const auto& list) {
  std::vector<std::string> out;
  out.reserve(list.size());
  for (const auto& e : list) out.push_back(e.type);
  return out;
}

}  // namespace

LoopObserver::LoopObserver(const Config& config, std::chrono::duration<double> interval)
    : metrics_(labels_of(config)), interval_(interval) {}

void LoopObserver::record(const AutonomousDecisionEngine& engine, const CycleResult& c) {
  telemetry::CycleSample s;
  s.health_score = c.metrics.health_score;
  s.active_agents = c.metrics.active_agents;
  s.work_queue_size = c.metrics.work_queue_size;
  s.telemetry_volume = c.metrics.telemetry_volume;
  s.completion_rate = c.metrics.completion_rate;
  s.is_leader = engine.is_leader();
  s.decided_types = types_of(c.decisions);
  s.executed_types = types_of(c.execution.executed);
  s.failed_types = types_of(c.execution.failed);
  for (const auto& k : c.execution.skipped) s.skipped_reasons.push_back(k.reason);
  s.duration_s = static_cast<double>(c.duration_ms) / 1000.0;
  s.spans_dropped_total = static_cast<std::int64_t>(engine.exporter_stats().dropped);
  metrics_.record(s);
  std::string body = dump_json(status_envelope(engine, c.metrics));
  std::lock_guard lock(mu_);
  status_ = std::move(body);
  last_ok_ = std::chrono::steady_clock::now();
  last_duration_ = std::chrono::milliseconds(c.duration_ms);
  any_ok_ = true;
}

std::string LoopObserver::status_json() const {
  std::lock_guard lock(mu_);
  return status_.empty() ? "{}" : status_;
}

bool LoopObserver::ready() const {
  std::lock_guard lock(mu_);
  if (!any_ok_) return false;
  const auto allowed = 2 * interval_ + last_duration_ + std::chrono::milliseconds(500);
  return std::chrono::steady_clock::now() - last_ok_ <= allowed;
}

Result<std::unique_ptr<telemetry::MetricsServer>> LoopObserver::serve(const std::string& addr,
                                                                      const Config& config) {
  auto hp = telemetry::parse_listen_address(addr);
  if (!hp.ok())
    return Status(ErrorCode::kInvalidArgument, "--metrics-addr: " + hp.status().message());
  telemetry::ServerConfig cfg;
  cfg.host = hp->first;
  cfg.port = hp->second;
  cfg.metrics = [this] { return metrics(); };
  cfg.status_json = [this] { return status_json(); };
  cfg.ready = [this] { return ready(); };
  cfg.receiver.dir = config.coordination_dir;
  cfg.receiver.sink = telemetry_sink(config);  // etcd: the records go under the store's prefix
  cfg.receiver.spans_received = &metrics_.otlp_spans_received();
  cfg.receiver.requests_rejected = &metrics_.otlp_requests_rejected();
  return telemetry::MetricsServer::start(std::move(cfg));
}

}  // namespace dslmodel::app

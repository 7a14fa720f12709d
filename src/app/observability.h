// What the loop reports to the outside: the span exporter (--spans-file or OTEL_*), the
// Prometheus metrics and the HTTP endpoint (--metrics-addr), and the remediation switch.
// Not thread-safe except where noted.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include "dslmodel/config_loader.h"
#include "dslmodel/engine.h"
#include "dslmodel/telemetry.h"
#include "telemetry/http_server.h"
#include "telemetry/prometheus.h"

namespace dslmodel::app {

// --spans-file PATH when given, else OTLP/HTTP to OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT unless
// OTEL_SDK_DISABLED; nullptr when neither. kInvalidArgument naming the file or variable.
Result<std::unique_ptr<SpanExporter>> make_span_exporter(const std::string& spans_file,
                                                         const EnvLookup& env);

// The loop's metrics, its /status body and readiness, shared with the HTTP server's threads.
// Thread-safe.
class LoopObserver {
 public:
  LoopObserver(const Config& config, std::chrono::duration<double> interval);

  // After each successful cycle.
  void record(const AutonomousDecisionEngine& engine, const CycleResult& cycle);

  std::string metrics() const { return metrics_.render(); }
  std::string status_json() const;
  // A cycle succeeded within two intervals (plus the last cycle's own duration).
  bool ready() const;

  // Starts the endpoint on `addr` ("host:port"); port 0 picks a free one.
  Result<std::unique_ptr<telemetry::MetricsServer>> serve(const std::string& addr,
                                                          const Config& config);

 private:
  telemetry::EngineMetrics metrics_;
  const std::chrono::duration<double> interval_;
  mutable std::mutex mu_;
  std::string status_;                               // guarded by mu_
  std::chrono::steady_clock::time_point last_ok_{};  // guarded by mu_
  std::chrono::milliseconds last_duration_{0};       // guarded by mu_
  bool any_ok_ = false;                              // guarded by mu_
};

}  // namespace dslmodel::app

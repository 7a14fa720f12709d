// The engine's HTTP endpoint: /metrics, /healthz, /readyz, /status and the OTLP receiver
// (POST /v1/traces), served by cpp-httplib on its own threads. The HTTP library stays private to
// this module: callers include only this header.
//
// Routes:
//   GET  /metrics    200 text/plain; version=0.0.4, the body `metrics()` returns
//   GET  /healthz    200 "ok" while the server runs
//   GET  /readyz     200 "ready" when `ready()` is true, else 503 with the reason
//   GET  /status     200 application/json, the body `status_json()` returns
//   POST /v1/traces  the OtlpReceiver (404 when receiver.dir is empty)
//
// Thread-safety: the callbacks are called from the server's worker threads, possibly
// concurrently, and must be thread-safe; an exception they throw becomes a 500. port() and stop()
// may be called from any thread. No function throws.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "dslmodel/status.h"
#include "telemetry/otlp_receiver.h"

namespace dslmodel::telemetry {

struct ServerConfig {
  std::string host = "127.0.0.1";
  int port = 8080;                           // 0: any free port (see MetricsServer::port())
  std::function<std::string()> metrics;      // the exposition text; empty function → empty body
  std::function<std::string()> status_json;  // empty function → "{}"
  std::function<bool()> ready;               // empty function → always ready
  ReceiverConfig receiver;
  // Worker threads. Bounds memory: at most `threads` request bodies of receiver.max_body_bytes
  // are held at once.
  std::size_t threads = 4;
  // How long an idle keep-alive connection is kept, and how long a read may stall. stop() returns
  // within about the larger of the two.
  std::chrono::seconds keep_alive_timeout{1};
  std::chrono::seconds read_timeout{5};
};

// Parses a listen address: "host:port", ":port" (all interfaces, "0.0.0.0") or "[v6addr]:port".
// Fails with kInvalidArgument naming the address. ("off" is the caller's business.)
Result<std::pair<std::string, int>> parse_listen_address(std::string_view addr);

class MetricsServer {
 public:
  // Binds and starts serving on a background thread. Fails with kUnavailable when the address
  // cannot be bound (in use, bad host), naming it.
  static Result<std::unique_ptr<MetricsServer>> start(ServerConfig cfg);

  ~MetricsServer();  // stop()
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // The bound port (the one chosen when the config asked for 0).
  int port() const;

  // Stops accepting, finishes the requests in flight and joins the threads. Blocks at most about
  // max(keep_alive_timeout, read_timeout). Idempotent.
  void stop();

  struct Impl;

 private:
  explicit MetricsServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace dslmodel::telemetry

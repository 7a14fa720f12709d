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
// Before any body is read, every request must be framed unambiguously (RFC 9112 §6): two
// Content-Length headers, both Content-Length and Transfer-Encoding, or a Content-Length that
// is not a decimal number → 400; a transfer coding other than chunked → 501; a body on any
// route but POST /v1/traces → 413. A request refused before its body is read closes its
// connection.
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

// How the endpoint holds out against slow and hostile clients (README "Observability" lists the
// defaults). A client that misses a deadline is disconnected without an answer.
struct ConnectionLimits {
  // Connections served at once, each on its own thread (started when needed, kept until stop).
  // A connection beyond them displaces the one that has waited longest on its client (idle,
  // sending headers or a body; not one being handled), so /healthz never waits behind slow
  // clients.
  std::size_t max_connections = 256;
  // Requests reading or handling a body (POST /v1/traces) at once; more wait for a slot until
  // their body deadline, then get 503. Bounds memory to about max_bodies request bodies of
  // receiver.max_body_bytes and their parse.
  std::size_t max_bodies = 4;
  // Largest request line and headers together; larger → 400 and closed.
  std::size_t max_header_bytes = std::size_t{64} << 10;
  // How long a connection may wait for a request's first byte (keep-alive included).
  std::chrono::milliseconds idle{1000};
  // From a request's first byte to the end of its headers.
  std::chrono::milliseconds header{5000};
  // From the end of the headers until the response is written (the body read, handled, answered).
  std::chrono::milliseconds body{30000};
  // A single read or write that stalls this long fails.
  std::chrono::milliseconds io{5000};
};

struct ServerConfig {
  std::string host = "127.0.0.1";
  int port = 8080;                           // 0: any free port (see MetricsServer::port())
  std::function<std::string()> metrics;      // the exposition text; empty function → empty body
  std::function<std::string()> status_json;  // empty function → "{}"
  std::function<bool()> ready;               // empty function → always ready
  ReceiverConfig receiver;
  ConnectionLimits limits;
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

  // Stops accepting, disconnects the clients it waits on, finishes the requests being handled
  // and joins the threads. Idempotent.
  void stop();

  struct Impl;

 private:
  explicit MetricsServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace dslmodel::telemetry

// The OTLP/HTTP trace receiver (POST /v1/traces, JSON encoding only), independent of the HTTP
// library: MetricsServer feeds it headers and the body it read.
//
// Accepted exports become telemetry records named `telemetry_otlp-<unix_ms>-<seq>.json` (each at
// most `max_file_bytes`): files in the coordination directory, written atomically, or whatever
// the configured sink does with them (the etcd store puts them under its prefix), so the store
// counts their spans toward telemetry_volume.
//
// Thread-safety: OtlpReceiver is safe to call from many threads at once (the sequence number is
// atomic; counters are thread-safe). No function throws.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "dslmodel/status.h"

namespace dslmodel::telemetry {

class Counter;

struct ReceiverConfig {
  // Where accepted exports are written. Empty (and no sink): the receiver is disabled (POST
  // /v1/traces → 404).
  std::filesystem::path dir;
  // When set, accepted exports go to it (record name, JSON) instead of files in `dir`. Called
  // from the server's threads: must be thread-safe.
  std::function<Status(const std::string& name, std::string_view data)> sink;
  // Largest request body accepted (default 8 MiB); larger → 413.
  std::size_t max_body_bytes = std::size_t{8} << 20;
  // Most spans accepted in one request (default 100,000); more → 413.
  std::int64_t max_spans = 100'000;
  // Largest telemetry file written (default 1 MiB, the store's read limit); larger exports are
  // split by resource, scope and span.
  std::size_t max_file_bytes = std::size_t{1} << 20;
  // Optional counters (not owned; must outlive the receiver): spans accepted, requests rejected.
  Counter* spans_received = nullptr;
  Counter* requests_rejected = nullptr;
};

// An HTTP answer: status, content type, body.
struct ReceiverReply {
  int status = 200;
  std::string content_type = "application/json";
  std::string body = "{}";
};

// Validation of an ExportTraceServiceRequest (JSON). Returns the number of spans, or kCorrupt with
// "invalid JSON: ..." / "<path> is not an array" (e.g. "resourceSpans[0].scopeSpans[1].spans is
// not an array").
Result<std::int64_t> validate_export(std::string_view body);

class OtlpReceiver {
 public:
  explicit OtlpReceiver(ReceiverConfig cfg);
  OtlpReceiver(const OtlpReceiver&) = delete;
  OtlpReceiver& operator=(const OtlpReceiver&) = delete;

  const ReceiverConfig& config() const { return cfg_; }
  bool enabled() const { return !cfg_.dir.empty() || static_cast<bool>(cfg_.sink); }

  // Checks before reading the body: 415 unless `content_type` (the header as sent; empty when
  // missing) is exactly application/json with optional parameters (RFC 9110 §8.3.1, e.g.
  // "application/json; charset=utf-8"), so also for application/x-protobuf, a missing type or
  // one with a control character; 413 when `content_length` exceeds max_body_bytes. nullopt: go
  // on and read at most max_body_bytes. Counts a rejection.
  std::optional<ReceiverReply> precheck(std::string_view content_type,
                                        std::optional<std::uint64_t> content_length);

  // The reply for a body that did not fit in max_body_bytes (413). Counts a rejection.
  ReceiverReply too_large();

  // The reply when the server has no room for another body now (503; the client retries).
  // Counts a rejection.
  ReceiverReply busy();

  // A rejection with `status` and {"code":..,"message":..} (the google.rpc.Status of OTLP).
  // Counts it.
  ReceiverReply reject(int status, std::string_view message);

  // Validates `body` and writes it as telemetry files. 200 "{}" when accepted; 400 (bad JSON or
  // shape), 413 (too many spans, or one span larger than max_file_bytes) or 500 (write failed)
  // with {"code":..,"message":..}. Blocks on the file writes (fsync).
  ReceiverReply handle(std::string_view body);

 private:
  Status write_file(std::string_view data, std::int64_t unix_ms);

  const ReceiverConfig cfg_;
  std::atomic<std::uint64_t> seq_{0};
};

}  // namespace dslmodel::telemetry

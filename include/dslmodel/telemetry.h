// Spans out: what the engine reports about each cycle (README.md), and where they go.
//
// A SpanExporter takes finished spans and sends them somewhere (OTLP/HTTP, a file, memory).
// export_spans() never blocks on I/O and never throws: an exporter that cannot keep up drops
// spans and counts them. Implementations are thread-safe.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace dslmodel {

using TraceId = std::array<std::uint8_t, 16>;
using SpanId = std::array<std::uint8_t, 8>;  // all zero: no parent (a root span)

// An attribute value: OTLP's bool, int, double, string and array of strings.
using AttributeValue =
    std::variant<bool, std::int64_t, double, std::string, std::vector<std::string>>;

struct SpanData {
  std::string name;  // e.g. "swarmsh.autonomous.cycle_complete"
  TraceId trace_id{};
  SpanId span_id{};
  SpanId parent_span_id{};
  std::int64_t start_unix_nano = 0;
  std::int64_t end_unix_nano = 0;
  std::vector<std::pair<std::string, AttributeValue>> attributes;
  bool error = false;          // status ERROR when true, else UNSET
  std::string status_message;  // with error
};

// Random ids, never all zero. Thread-safe (a generator per thread).
TraceId new_trace_id();
SpanId new_span_id();

struct ExporterStats {
  std::uint64_t exported = 0;         // spans a peer accepted (or written)
  std::uint64_t dropped = 0;          // spans given up: queue full, peer down, rejected
  std::uint64_t failed_requests = 0;  // export attempts that failed
};

class SpanExporter {
 public:
  SpanExporter() = default;
  SpanExporter(const SpanExporter&) = delete;
  SpanExporter& operator=(const SpanExporter&) = delete;
  virtual ~SpanExporter() = default;

  // Hands finished spans over. Returns at once; never throws.
  virtual void export_spans(std::vector<SpanData> spans) = 0;

  // Sends what is queued, waiting at most `timeout`. True when everything queued went out.
  virtual bool flush(std::chrono::milliseconds timeout) = 0;

  virtual ExporterStats stats() const = 0;
};

}  // namespace dslmodel

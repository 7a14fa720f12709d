// OTLP/JSON encoding of spans: an ExportTraceServiceRequest as the OpenTelemetry protocol's JSON
// mapping defines it (opentelemetry-proto docs/specification.md, "JSON Protobuf Encoding"):
// trace and span ids as lowercase hex, 64-bit integers as decimal strings, enums as integers,
// field names in lowerCamelCase. Also random trace and span ids.
//
// Thread-safety: every function here is safe to call from any thread (the id generator keeps a
// per-thread random engine).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dslmodel/telemetry.h"

namespace dslmodel::telemetry {

// The entity that produced the spans. `service.name` always comes from service_name; an entry
// of `attributes` with key "service.name" is ignored.
struct Resource {
  std::string service_name = "dslmodel";
  std::vector<std::pair<std::string, std::string>> attributes;
};

inline constexpr std::string_view kScopeName = "dslmodel";
inline constexpr std::string_view kScopeVersion = "0.1.0";

// One ExportTraceServiceRequest: {"resourceSpans":[{"resource":…,"scopeSpans":[{"scope":…,
// "spans":[…]}]}]}. Every span has kind INTERNAL (1); a span whose parent_span_id is all zero has
// no "parentSpanId"; an error span has status {"code":2,"message":…}, others no status. Doubles
// that are not finite are written "NaN", "Infinity", "-Infinity" as proto3 JSON requires.
// Never throws (strings are kept as given; serialize with dump_json()).
nlohmann::json encode_export(const std::vector<SpanData>& spans, const Resource& resource);

// Serializes without throwing: invalid UTF-8 in strings is replaced by U+FFFD.
std::string dump_json(const nlohmann::json& j);

// Random ids from a per-thread engine seeded from std::random_device. Never all zero.
TraceId new_trace_id();
SpanId new_span_id();

// Lowercase hex of the bytes (32 characters for a TraceId, 16 for a SpanId).
std::string to_hex(const TraceId& id);
std::string to_hex(const SpanId& id);

// Parses exactly 32 (or 16) hex digits, either case. nullopt on anything else.
std::optional<TraceId> trace_id_from_hex(std::string_view hex);
std::optional<SpanId> span_id_from_hex(std::string_view hex);

}  // namespace dslmodel::telemetry

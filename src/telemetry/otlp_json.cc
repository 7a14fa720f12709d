#include "telemetry/otlp_json.h"

#include <cmath>
#include <cstdint>
#include <random>
#include <span>

#include "core/json_text.h"

namespace dslmodel::telemetry {
namespace {

using nlohmann::json;

json string_value(const std::string& s) { return json{{"stringValue", s}}; }

json double_value(double d) {
  if (std::isnan(d)) return json{{"doubleValue", "NaN"}};
  if (std::isinf(d)) return json{{"doubleValue", d > 0 ? "Infinity" : "-Infinity"}};
  return json{{"doubleValue", d}};
}

json any_value(const AttributeValue& v) {
  if (const auto* b = std::get_if<bool>(&v)) return json{{"boolValue", *b}};
  if (const auto* i = std::get_if<std::int64_t>(&v)) {
    return json{{"intValue", std::to_string(*i)}};
  }
  if (const auto* d = std::get_if<double>(&v)) return double_value(*d);
  if (const auto* s = std::get_if<std::string>(&v)) return string_value(*s);
  json values = json::array();
  for (const auto& s : std::get<std::vector<std::string>>(v)) values.push_back(string_value(s));
  return json{{"arrayValue", json{{"values", std::move(values)}}}};
}

json key_value(const std::string& key, json value) {
  return json{{"key", key}, {"value", std::move(value)}};
}

bool all_zero(std::span<const std::uint8_t> bytes) {
  for (auto b : bytes) {
    if (b != 0) return false;
  }
  return true;
}

std::string hex(std::span<const std::uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (auto b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0xf]);
  }
  return out;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool from_hex(std::string_view text, std::span<std::uint8_t> out) {
  if (text.size() != out.size() * 2) return false;
  for (std::size_t i = 0; i < out.size(); ++i) {
    const int hi = hex_digit(text[2 * i]);
    const int lo = hex_digit(text[(2 * i) + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<std::uint8_t>((hi << 4) | lo);
  }
  return true;
}

json encode_span(const SpanData& s) {
  json attrs = json::array();
  for (const auto& [key, value] : s.attributes) attrs.push_back(key_value(key, any_value(value)));
  json j = {{"traceId", hex(s.trace_id)},
            {"spanId", hex(s.span_id)},
            {"name", s.name},
            {"kind", 1},
            {"startTimeUnixNano", std::to_string(s.start_unix_nano)},
            {"endTimeUnixNano", std::to_string(s.end_unix_nano)},
            {"attributes", std::move(attrs)}};
  if (!all_zero(s.parent_span_id)) j["parentSpanId"] = hex(s.parent_span_id);
  if (s.error) j["status"] = json{{"code", 2}, {"message", s.status_message}};
  return j;
}

json encode_resource(const Resource& resource) {
  json attrs = json::array();
  attrs.push_back(key_value("service.name", string_value(resource.service_name)));
  for (const auto& [key, value] : resource.attributes) {
    if (key != "service.name") attrs.push_back(key_value(key, string_value(value)));
  }
  return json{{"attributes", std::move(attrs)}};
}

template <std::size_t N>
std::array<std::uint8_t, N> random_nonzero_id() {
  thread_local std::mt19937_64 engine{[] {
    std::random_device rd;
    std::seed_seq seq{rd(), rd(), rd(), rd(), rd(), rd(), rd(), rd()};
    return std::mt19937_64(seq);
  }()};
  std::array<std::uint8_t, N> id{};
  do {
    for (std::size_t i = 0; i < N; i += 8) {
      std::uint64_t r = engine();
      for (std::size_t k = 0; k < 8 && i + k < N; ++k) {
        id[i + k] = static_cast<std::uint8_t>(r >> (8 * k));
      }
    }
  } while (all_zero(id));
  return id;
}

}  // namespace

nlohmann::json encode_export(const std::vector<SpanData>& spans, const Resource& resource) {
  json out_spans = json::array();
  for (const auto& s : spans) out_spans.push_back(encode_span(s));
  json scope = {{"name", std::string(kScopeName)}, {"version", std::string(kScopeVersion)}};
  json scope_spans =
      json::array({json{{"scope", std::move(scope)}, {"spans", std::move(out_spans)}}});
  json resource_spans = json::array(
      {json{{"resource", encode_resource(resource)}, {"scopeSpans", std::move(scope_spans)}}});
  return json{{"resourceSpans", std::move(resource_spans)}};
}

std::string dump_json(const nlohmann::json& j) { return ::dslmodel::dump_json(j); }

TraceId new_trace_id() { return random_nonzero_id<16>(); }
SpanId new_span_id() { return random_nonzero_id<8>(); }

std::string to_hex(const TraceId& id) { return hex(id); }
std::string to_hex(const SpanId& id) { return hex(id); }

std::optional<TraceId> trace_id_from_hex(std::string_view text) {
  TraceId id{};
  if (!from_hex(text, id)) return std::nullopt;
  return id;
}

std::optional<SpanId> span_id_from_hex(std::string_view text) {
  SpanId id{};
  if (!from_hex(text, id)) return std::nullopt;
  return id;
}

}  // namespace dslmodel::telemetry

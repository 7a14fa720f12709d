// Workload traces in JSON lines (sim/trace.h): one object per line, an item or a crash.
#include <fmt/format.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>

#include "core/json_text.h"
#include "sim/trace_parse.h"

namespace dslmodel::sim::detail {
namespace {

using nlohmann::json;

std::optional<Stamp> stamp_from_json(const json& j) {
  if (j.is_number()) {
    const double v = j.get<double>();
    if (!std::isfinite(v)) return std::nullopt;
    return Stamp{false, v, 0};
  }
  if (j.is_string()) return stamp_from_text(j.get_ref<const std::string&>());
  return std::nullopt;
}

std::optional<double> duration_from_json(const json& j) {
  std::optional<double> v;
  if (j.is_number()) v = j.get<double>();
  if (j.is_string()) v = to_double(trim(j.get_ref<const std::string&>()));
  if (!v || !std::isfinite(*v) || *v <= 0.0) return std::nullopt;
  return v;
}

// An integer, an integral float (3.0) or a numeric string.
std::optional<std::int64_t> int_from_json(const json& j) {
  if (j.is_number_unsigned()) {
    const auto v = j.get<std::uint64_t>();
    if (v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return std::nullopt;
    }
    return static_cast<std::int64_t>(v);
  }
  if (j.is_number_integer()) return j.get<std::int64_t>();
  if (j.is_number_float()) {
    const double v = j.get<double>();
    if (!std::isfinite(v) || std::trunc(v) != v || std::fabs(v) > 9e18) return std::nullopt;
    return static_cast<std::int64_t>(v);
  }
  if (j.is_string()) return to_int(trim(j.get_ref<const std::string&>()));
  return std::nullopt;
}

const json* field(const json& obj, const char* key) {
  const auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

Status json_crash(const json& obj, std::size_t line, const Stamp& at, TraceBuilder& b) {
  const auto agents = int_from_json(*field(obj, "crash"));
  if (!agents || *agents <= 0 || *agents > std::numeric_limits<int>::max()) {
    return line_error(line, "crash must be a positive integer (the number of agents)");
  }
  if (field(obj, "duration_s") != nullptr) {
    return line_error(line, "a crash line has no duration_s");
  }
  return b.add_crash(line, at, static_cast<int>(*agents));
}

Status json_item(const json& obj, std::size_t line, const Stamp& at, TraceBuilder& b) {
  const json* duration = field(obj, "duration_s");
  if (duration == nullptr) return line_error(line, "missing duration_s");
  const auto duration_s = duration_from_json(*duration);
  if (!duration_s) return line_error(line, "duration_s must be a positive number");
  std::int64_t priority = 0;
  if (const json* p = field(obj, "priority")) {
    const auto v = int_from_json(*p);
    if (!v) return line_error(line, "priority must be an integer");
    priority = *v;
  }
  std::string id;
  if (const json* i = field(obj, "id")) {
    if (i->is_string()) {
      id = i->get<std::string>();
    } else if (i->is_number_integer()) {
      id = i->dump();
    } else {
      return line_error(line, "id must be a string");
    }
  }
  return b.add_item(line, at, *duration_s, priority, std::move(id));
}

Status json_line(const Line& line, TraceBuilder& b) {
  const json obj = parse_json_or_discarded(line.text);
  if (obj.is_discarded()) return line_error(line.number, "not valid JSON");
  if (!obj.is_object()) return line_error(line.number, "expected a JSON object");
  const json* at = field(obj, "at");
  if (at == nullptr) return line_error(line.number, "missing \"at\"");
  const auto stamp = stamp_from_json(*at);
  if (!stamp) return line_error(line.number, "\"at\" must be seconds or an ISO-8601 time");
  if (field(obj, "crash") != nullptr) return json_crash(obj, line.number, *stamp, b);
  return json_item(obj, line.number, *stamp, b);
}

}  // namespace

Status parse_json_lines(const std::vector<Line>& lines, TraceBuilder& b) {
  for (const Line& line : lines) {
    try {
      if (Status s = json_line(line, b); !s.ok()) return s;
    } catch (const json::exception& e) {  // get<> on an odd value; not expected
      return line_error(line.number, e.what());
    }
  }
  return Status::Ok();
}

}  // namespace dslmodel::sim::detail

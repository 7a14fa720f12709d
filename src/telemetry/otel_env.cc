#include "telemetry/otel_env.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <string_view>
#include <utility>
#include <vector>

namespace dslmodel::telemetry {
namespace {

constexpr std::string_view kAttrsVar = "OTEL_RESOURCE_ATTRIBUTES";

std::string trim(std::string_view s) {
  const auto not_space = [](unsigned char c) { return std::isspace(c) == 0; };
  const auto* b = std::find_if(s.begin(), s.end(), not_space);
  const auto* e = std::find_if(s.rbegin(), std::make_reverse_iterator(b), not_space).base();
  return {b, e};
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  const char l = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (l >= 'a' && l <= 'f') return l - 'a' + 10;
  return -1;
}

std::optional<std::string> percent_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;
    const int hi = hex_value(s[i + 1]);
    const int lo = hex_value(s[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>((hi << 4) | lo));
    i += 2;
  }
  return out;
}

Status invalid_attrs(std::string_view entry, std::string_view why) {
  return {ErrorCode::kInvalidArgument, std::string(kAttrsVar) + ": " + std::string(why) +
                                           " in entry '" + std::string(entry) + "'"};
}

// Parses "k=v,k2=v2" into `out`.
Status parse_resource_attributes(std::string_view text,
                                 std::vector<std::pair<std::string, std::string>>& out) {
  while (!text.empty()) {
    const auto comma = text.find(',');
    const std::string entry = trim(text.substr(0, comma));
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    if (entry.empty()) continue;
    const auto eq = entry.find('=');
    if (eq == std::string::npos) return invalid_attrs(entry, "missing '='");
    auto key = percent_decode(trim(std::string_view(entry).substr(0, eq)));
    auto value = percent_decode(trim(std::string_view(entry).substr(eq + 1)));
    if (!key || !value) return invalid_attrs(entry, "bad percent-encoding");
    if (key->empty()) return invalid_attrs(entry, "empty key");
    out.emplace_back(std::move(*key), std::move(*value));
  }
  return Status::Ok();
}

std::string traces_endpoint(const EnvLookup& env) {
  if (auto v = env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"); v && !trim(*v).empty()) return trim(*v);
  auto base = env("OTEL_EXPORTER_OTLP_ENDPOINT");
  if (!base) return {};
  std::string b = trim(*base);
  if (b.empty()) return {};
  while (!b.empty() && b.back() == '/') b.pop_back();
  return b + "/v1/traces";
}

}  // namespace

Result<OtelSettings> otel_settings_from_env(const EnvLookup& env) {
  OtelSettings s;
  if (auto v = env("OTEL_SDK_DISABLED")) {
    const std::string d = lower(trim(*v));
    if (d == "true") {
      s.disabled = true;
    } else if (d != "false" && !d.empty()) {
      return Status(ErrorCode::kInvalidArgument,
                    "OTEL_SDK_DISABLED: expected true or false, got '" + *v + "'");
    }
  }
  s.traces_endpoint = traces_endpoint(env);
  std::vector<std::pair<std::string, std::string>> attrs;
  if (auto v = env(std::string(kAttrsVar))) {
    if (Status st = parse_resource_attributes(*v, attrs); !st.ok()) return st;
  }
  for (auto& [key, value] : attrs) {
    if (key == "service.name") {
      s.resource.service_name = value;
    } else {
      s.resource.attributes.emplace_back(std::move(key), std::move(value));
    }
  }
  if (auto v = env("OTEL_SERVICE_NAME"); v && !trim(*v).empty()) {
    s.resource.service_name = trim(*v);
  }
  return s;
}

EnvLookup process_env() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());  // NOLINT(concurrency-mt-unsafe)
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

}  // namespace dslmodel::telemetry

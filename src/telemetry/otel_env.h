// The standard OpenTelemetry SDK environment variables that configure spans out:
// OTEL_SDK_DISABLED, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, OTEL_EXPORTER_OTLP_ENDPOINT,
// OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES.
//
// Thread-safety: pure function of the lookup it is given; safe from any thread as long as the
// lookup is.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "dslmodel/status.h"
#include "telemetry/otlp_json.h"

namespace dslmodel::telemetry {

struct OtelSettings {
  bool disabled = false;        // OTEL_SDK_DISABLED=true (case-insensitive)
  std::string traces_endpoint;  // full URL including /v1/traces; empty: no OTLP exporter
  Resource resource;            // service name and resource attributes
};

// Looks a variable up: its value, or nullopt when unset.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;

// Reads the settings through `env`. Rules:
//  - OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is used as is; otherwise OTEL_EXPORTER_OTLP_ENDPOINT
//    plus "/v1/traces" (one slash, whether or not the base ends with one); empty or unset: none.
//  - OTEL_SERVICE_NAME, else a service.name entry of OTEL_RESOURCE_ATTRIBUTES, else "dslmodel".
//  - OTEL_RESOURCE_ATTRIBUTES is "k=v,k2=v2"; values (and keys) are percent-decoded, spaces
//    around entries trimmed, empty entries skipped; service.name is not kept in attributes.
// Fails with kInvalidArgument naming the variable for an entry without '=' or with an empty key,
// bad percent-encoding, or an OTEL_SDK_DISABLED that is not true/false.
Result<OtelSettings> otel_settings_from_env(const EnvLookup& env);

// The process environment (std::getenv) as an EnvLookup.
EnvLookup process_env();

}  // namespace dslmodel::telemetry

// ISO-8601 timestamps as the coordination files write them. Pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "dslmodel/snapshot.h"

namespace dslmodel {

// Parses "2025-06-27T15:41:04.944999", "2025-06-27T15:41:04Z", "2025-06-27 15:41:04+02:00",
// "2025-06-27". No zone means UTC. Fractions to microseconds. nullopt when not a valid time or
// outside what a TimePoint holds (years 1678 to 2261).
std::optional<TimePoint> parse_iso8601(std::string_view text);

// Unix seconds (fractions kept) as a TimePoint; nullopt for NaN, infinities and values outside
// years 1678 to 2261.
std::optional<TimePoint> from_unix_seconds(double seconds);

// "2025-06-27T15:41:04.944Z" (UTC, milliseconds).
std::string format_iso8601(TimePoint t);

// Milliseconds since the Unix epoch.
std::int64_t unix_millis(TimePoint t);

}  // namespace dslmodel

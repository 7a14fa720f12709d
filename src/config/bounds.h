// The allowed range of every numeric setting and flag, and the one check that enforces it for the
// config file, the environment and the command line (docs/configuration.md; the command line's
// CLI11 checks over it are app/bounds.h). A value outside its
// range is an error naming the setting, the value and the range, never a truncation: a 64-bit
// integer is range-checked before it is narrowed, a float must be finite, and a duration is
// bounded so that its conversion to nanoseconds (std::chrono clocks) cannot overflow.
// Pure and thread-safe.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

namespace dslmodel {

struct IntBounds {
  std::int64_t lo;
  std::int64_t hi;
  std::string_view unit;  // "seconds", "milliseconds" or empty, for messages
};

struct RealBounds {
  double lo;
  double hi;
  std::string_view unit;
};

// The longest duration any setting or flag accepts: ten years. Far beyond any sensible timeout,
// and far below the ~292 years at which nanoseconds since the epoch overflow 64 bits.
inline constexpr std::int64_t kMaxSeconds = std::int64_t{10} * 365 * 86400;

inline constexpr IntBounds kSecondsBounds{0, kMaxSeconds, "seconds"};
inline constexpr IntBounds kPositiveSecondsBounds{1, kMaxSeconds, "seconds"};
inline constexpr IntBounds kMillisBounds{1, kMaxSeconds * 1000, "milliseconds"};
inline constexpr RealBounds kRealSecondsBounds{0, static_cast<double>(kMaxSeconds), "seconds"};
inline constexpr IntBounds kAgentCountBounds{0, 100'000, ""};
inline constexpr IntBounds kMaxAgentsBounds{1, 100'000, ""};
inline constexpr IntBounds kDecisionsBounds{0, 1000, ""};
inline constexpr IntBounds kAttemptsBounds{1, 1'000'000, ""};
inline constexpr IntBounds kLeaseTtlBounds{1, 3600, "seconds"};
inline constexpr RealBounds kConfidenceBounds{0, 1, ""};
inline constexpr IntBounds kCountBounds{0, std::numeric_limits<std::int64_t>::max(), ""};

// "an integer from 1 to 100000", "a whole number of seconds from 0 to 315360000",
// "a number from 0 to 1".
std::string describe(const IntBounds& b);
std::string describe(const RealBounds& b);

bool contains(const IntBounds& b, std::int64_t v);
bool contains(const RealBounds& b, double v);  // false for NaN and infinities

// Base-10 integer, the whole text; nullopt when it is not one or does not fit 64 bits.
std::optional<std::int64_t> parse_int(std::string_view text);
// A number, the whole text (from_chars: "nan" and "inf" parse, and contains() rejects them).
std::optional<double> parse_real(std::string_view text);

// Empty when `text` is a value within `b`; else "expected <describe(b)>, got '<text>'".
std::string check_int(std::string_view text, const IntBounds& b);
std::string check_real(std::string_view text, const RealBounds& b);

}  // namespace dslmodel

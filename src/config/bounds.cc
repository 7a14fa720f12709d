#include "config/bounds.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>

namespace dslmodel {

std::string describe(const IntBounds& b) {
  const std::string what =
      b.unit.empty() ? "an integer" : fmt::format("a whole number of {}", b.unit);
  if (b.hi == std::numeric_limits<std::int64_t>::max()) return fmt::format("{} >= {}", what, b.lo);
  return fmt::format("{} from {} to {}", what, b.lo, b.hi);
}

std::string describe(const RealBounds& b) {
  const std::string what = b.unit.empty() ? "a number" : fmt::format("a number of {}", b.unit);
  return fmt::format("{} from {} to {}", what, b.lo, b.hi);
}

bool contains(const IntBounds& b, std::int64_t v) { return v >= b.lo && v <= b.hi; }

bool contains(const RealBounds& b, double v) { return std::isfinite(v) && v >= b.lo && v <= b.hi; }

std::optional<std::int64_t> parse_int(std::string_view text) {
  std::int64_t v = 0;
  const char* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, v);
  if (text.empty() || ec != std::errc() || p != end) return std::nullopt;
  return v;
}

std::optional<double> parse_real(std::string_view text) {
  double v = 0;
  const char* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, v);
  if (text.empty() || ec != std::errc() || p != end) return std::nullopt;
  return v;
}

std::string check_int(std::string_view text, const IntBounds& b) {
  std::optional<std::int64_t> v = parse_int(text);
  if (v && contains(b, *v)) return {};
  return fmt::format("expected {}, got '{}'", describe(b), text);
}

std::string check_real(std::string_view text, const RealBounds& b) {
  std::optional<double> v = parse_real(text);
  if (v && contains(b, *v)) return {};
  return fmt::format("expected {}, got '{}'", describe(b), text);
}

}  // namespace dslmodel

#include "app/bounds.h"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cstdint>
#include <limits>
#include <string>

namespace dslmodel::app {

CLI::Validator int_flag(const IntBounds& b) {
  constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  const std::string desc = b.lo == kMin && b.hi == kMax ? std::string("INT")
                           : b.hi == kMax               ? fmt::format("INT>={}", b.lo)
                                          : fmt::format("INT in [{} - {}]", b.lo, b.hi);
  return {[b](const std::string& text) { return check_int(text, b); }, desc};
}

CLI::Validator real_flag(const RealBounds& b) {
  return {[b](const std::string& text) { return check_real(text, b); },
          fmt::format("NUMBER in [{} - {}]", b.lo, b.hi)};
}

}  // namespace dslmodel::app

// Random span and trace ids.
#include <algorithm>
#include <random>

#include "dslmodel/telemetry.h"

namespace dslmodel {
namespace {

template <std::size_t N>
std::array<std::uint8_t, N> random_id() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::array<std::uint8_t, N> id{};
  while (std::all_of(id.begin(), id.end(), [](std::uint8_t b) { return b == 0; })) {
    for (std::size_t i = 0; i < N; i += 8) {
      const std::uint64_t r = rng();
      for (std::size_t j = 0; j < 8 && i + j < N; ++j) id[i + j] = (r >> (8 * j)) & 0xff;
    }
  }
  return id;
}

}  // namespace

TraceId new_trace_id() { return random_id<16>(); }
SpanId new_span_id() { return random_id<8>(); }

}  // namespace dslmodel

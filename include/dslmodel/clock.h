// Clock: where the engine reads the time. Injected so tests can use a fake one.
// Implementations must be safe to call from any thread.
#pragma once

#include <chrono>

#include "dslmodel/snapshot.h"

namespace dslmodel {

class Clock {
 public:
  virtual ~Clock() = default;
  // The current wall-clock time.
  virtual TimePoint now() const = 0;
  // A monotonic reading for durations.
  virtual std::chrono::steady_clock::time_point steady_now() const = 0;
};

// The real clocks of the machine.
class SystemClock final : public Clock {
 public:
  TimePoint now() const override { return std::chrono::system_clock::now(); }
  std::chrono::steady_clock::time_point steady_now() const override {
    return std::chrono::steady_clock::now();
  }
};

}  // namespace dslmodel

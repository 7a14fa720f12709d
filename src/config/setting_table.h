// The numeric settings of the config file: each key with its range and where its value goes in
// a Config. The file (config_file.cc) and the environment (config_loader.cc) both look a key up
// here, so a variable shares the range of the file setting it overrides (docs/configuration.md).
// Pure and thread-safe.
#pragma once

#include <cstdint>
#include <string_view>

#include "config/bounds.h"
#include "dslmodel/config.h"

namespace dslmodel::config {

// A numeric setting: its key in the config file, its range, and where it goes. Every integer and
// float setting is in one of these tables, so the file, the environment and the flags that name
// a setting share its range (docs/configuration.md).
struct IntSetting {
  std::string_view key;
  IntBounds bounds;
  void (*set)(Config&, std::int64_t);  // the value is within bounds, so narrowing is exact
};
struct RealSetting {
  std::string_view key;
  RealBounds bounds;
  void (*set)(Config&, double);
};

// The setting named `key` ("engine.max_decisions"); nullptr when no numeric setting has that key.
const IntSetting* find_int_setting(std::string_view key);
const RealSetting* find_real_setting(std::string_view key);

}  // namespace dslmodel::config

// The configuration loader: a TOML file with arbitrary contents, then the DSLMODEL_* environment
// taken from the input's trailing lines ("NAME=value"), then the cross-setting checks. Errors are
// expected; crashes, hangs and accepted values that fail validation's own ranges are not.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "dslmodel/config.h"
#include "dslmodel/config_loader.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace dslmodel;
  std::string_view text = fuzz::as_text(data, size);
  // "<toml>\n%%\n<env lines>": the part after the separator is the environment.
  std::map<std::string, std::string> env;
  if (auto sep = text.find("\n%%\n"); sep != std::string_view::npos) {
    std::string_view rest = text.substr(sep + 4);
    text = text.substr(0, sep);
    while (!rest.empty()) {
      std::string_view line = rest.substr(0, rest.find('\n'));
      rest.remove_prefix(std::min(rest.size(), line.size() + 1));
      if (auto eq = line.find('='); eq != std::string_view::npos) {
        env[std::string(line.substr(0, eq))] = std::string(line.substr(eq + 1));
      }
    }
  }
  const auto file = fuzz::scratch_dir() / "dsl.toml";
  fuzz::write_file(file, text);

  Config config;
  if (!apply_config_file(file.string(), config).ok()) return 0;
  auto lookup = [&env](const std::string& name) -> std::optional<std::string> {
    auto it = env.find(name);
    if (it == env.end()) return std::nullopt;
    return it->second;
  };
  if (!apply_environment(lookup, config).ok()) return 0;
  (void)validate_config(config);
  return 0;
}

// Command templates: "{name}" placeholders in an argv, expanded without a shell. The one expander
// every hook uses (the scale command, the supervisor's and the pool's agent command). Pure;
// thread-safe.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace dslmodel {

// One "{name}" a template may hold and the text it stands for.
struct Placeholder {
  std::string_view name;
  std::string_view value;
};

// `text` with every "{name}" of a known placeholder replaced by its value, in one left-to-right
// pass: substituted text is never scanned again, so a value that itself holds braces stays
// literal. Every other brace stays as it is ("{}", "{ x }", "{unknown}", an unclosed "{").
std::string expand_placeholders(std::string_view text, std::span<const Placeholder> known);

// expand_placeholders() applied to every argument.
std::vector<std::string> expand_argv(const std::vector<std::string>& argv,
                                     std::span<const Placeholder> known);

// The first "{identifier}" (letters, digits, '_') in `text` that names no known placeholder, as
// the pass of expand_placeholders() meets it; nullopt when there is none.
std::optional<std::string> unknown_placeholder(std::string_view text,
                                               std::span<const Placeholder> known);

struct UnknownPlaceholder {
  std::size_t arg = 0;  // the index of the argument that holds it
  std::string name;     // without the braces
};

// The first unknown placeholder of an argv template, for refusing it when it is configured.
std::optional<UnknownPlaceholder> find_unknown_placeholder(const std::vector<std::string>& argv,
                                                           std::span<const Placeholder> known);

}  // namespace dslmodel

// The placeholder pass: find '{', then the next '}'; a known name is replaced and the pass
// resumes after its '}', anything else keeps its '{' and the pass resumes right after it.
#include "core/template.h"

#include <algorithm>
#include <cctype>

namespace dslmodel {
namespace {

bool is_identifier(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
  });
}

const Placeholder* lookup(std::string_view name, std::span<const Placeholder> known) {
  auto it = std::find_if(known.begin(), known.end(),
                         [name](const Placeholder& p) { return p.name == name; });
  return it == known.end() ? nullptr : &*it;
}

// Runs the pass over `text`: appends to `out` (when not null) and stores the first unknown
// identifier in `unknown` (when not null and still empty).
void scan(std::string_view text, std::span<const Placeholder> known, std::string* out,
          std::optional<std::string>* unknown) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t open = text.find('{', pos);
    std::size_t close = open == std::string_view::npos ? open : text.find('}', open + 1);
    if (close == std::string_view::npos) break;
    std::string_view name = text.substr(open + 1, close - open - 1);
    if (out != nullptr) out->append(text.substr(pos, open - pos));
    if (const Placeholder* p = lookup(name, known)) {
      if (out != nullptr) out->append(p->value);
      pos = close + 1;
      continue;
    }
    if (unknown != nullptr && !unknown->has_value() && is_identifier(name)) {
      *unknown = std::string(name);
    }
    if (out != nullptr) out->push_back('{');
    pos = open + 1;
  }
  if (out != nullptr) out->append(text.substr(std::min(pos, text.size())));
}

}  // namespace

std::string expand_placeholders(std::string_view text, std::span<const Placeholder> known) {
  std::string out;
  out.reserve(text.size());
  scan(text, known, &out, nullptr);
  return out;
}

std::vector<std::string> expand_argv(const std::vector<std::string>& argv,
                                     std::span<const Placeholder> known) {
  std::vector<std::string> out;
  out.reserve(argv.size());
  for (const std::string& arg : argv) out.push_back(expand_placeholders(arg, known));
  return out;
}

std::optional<std::string> unknown_placeholder(std::string_view text,
                                               std::span<const Placeholder> known) {
  std::optional<std::string> unknown;
  scan(text, known, nullptr, &unknown);
  return unknown;
}

std::optional<UnknownPlaceholder> find_unknown_placeholder(const std::vector<std::string>& argv,
                                                           std::span<const Placeholder> known) {
  for (std::size_t i = 0; i < argv.size(); ++i) {
    if (auto name = unknown_placeholder(argv[i], known)) return UnknownPlaceholder{i, *name};
  }
  return std::nullopt;
}

}  // namespace dslmodel

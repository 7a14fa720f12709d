// sanitize_utf8 (declared in child_runner.h): output tails go into JSON records, which must be
// valid UTF-8 even when a command prints binary or the tail starts mid-character.
#include <cstddef>
#include <string>
#include <string_view>

#include "agent/child_runner.h"

namespace dslmodel::agent {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";

bool is_cont(unsigned char c) { return (c & 0xC0) == 0x80; }

// Length of the valid UTF-8 sequence starting at text[i], or 0 when it is invalid.
std::size_t valid_length(std::string_view text, std::size_t i) {
  const auto c = static_cast<unsigned char>(text[i]);
  if (c < 0x80) return 1;
  std::size_t len = 0;
  unsigned char lo = 0x80;
  unsigned char hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    if (c == 0xE0) lo = 0xA0;  // no overlong forms
    if (c == 0xED) hi = 0x9F;  // no surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
  } else {
    return 0;
  }
  if (i + len > text.size()) return 0;
  const auto second = static_cast<unsigned char>(text[i + 1]);
  if (second < lo || second > hi) return 0;
  for (std::size_t k = 2; k < len; ++k) {
    if (!is_cont(static_cast<unsigned char>(text[i + k]))) return 0;
  }
  return len;
}

}  // namespace

std::string sanitize_utf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size() && i < 3 && is_cont(static_cast<unsigned char>(text[i]))) ++i;
  std::string out;
  out.reserve(text.size() - i);
  while (i < text.size()) {
    std::size_t len = valid_length(text, i);
    if (len == 0) {
      out += kReplacement;
      ++i;
    } else {
      out.append(text.substr(i, len));
      i += len;
    }
  }
  return out;
}

}  // namespace dslmodel::agent

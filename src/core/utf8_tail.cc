#include "core/utf8_tail.h"

namespace dslmodel {

std::string utf8_tail(std::string s, std::size_t max) {
  if (s.size() <= max) return s;
  std::size_t start = s.size() - max;
  while (start < s.size() && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) ++start;
  return s.substr(start);
}

}  // namespace dslmodel

// Bounding a text kept in a record (a command's output) by its end. Pure; thread-safe.
#pragma once

#include <cstddef>
#include <string>

namespace dslmodel {

// The last `max` bytes of `s`, or fewer: the cut moves forward past UTF-8 continuation bytes so
// that the result starts at a character boundary. `s` itself when it is not longer than `max`.
std::string utf8_tail(std::string s, std::size_t max);

}  // namespace dslmodel

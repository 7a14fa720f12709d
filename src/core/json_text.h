// JSON text in and out, for every module that reads or writes JSON: one nesting bound, one
// serialisation that never throws, and the UTF-8 rules both share (docs/metrics.md, "Hostile
// input"). Pure functions of their arguments; thread-safe.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "dslmodel/status.h"

namespace dslmodel {

// The deepest nesting of arrays and objects any JSON text we read may have. The top-level value
// is level 1. Deeper documents are refused before a tree is built: the library's copy and dump
// recurse once per level, so an unbounded depth would be a stack overflow.
inline constexpr std::size_t kMaxJsonDepth = 64;

// "nested deeper than 64 levels": the reason every reader gives for a deeper document.
std::string too_deep_reason();

// Ok when no array or object in `text` is nested deeper than kMaxJsonDepth; kCorrupt with
// too_deep_reason() otherwise. Counts brackets outside strings without validating anything else,
// so it costs one pass over the bytes and no allocation.
Status check_json_depth(std::string_view text);

// Parses `text` (strict RFC 8259, one value) after check_json_depth(). kCorrupt when it is too
// deep ("nested deeper than 64 levels") or invalid ("invalid JSON: <the parser's reason>").
Result<nlohmann::json> parse_json(std::string_view text);
Result<nlohmann::ordered_json> parse_ordered_json(std::string_view text);

// parse_json(), or a discarded value (is_discarded() is true) on any failure: for readers that
// only ask whether the text is a usable document.
nlohmann::json parse_json_or_discarded(std::string_view text);
nlohmann::ordered_json parse_ordered_json_or_discarded(std::string_view text);

// j.dump(indent), with every ill-formed UTF-8 sequence in a string written as U+FFFD instead of
// throwing: external text (file names, command output) reaches most documents we write.
std::string dump_json(const nlohmann::json& j, int indent = -1);
std::string dump_json(const nlohmann::ordered_json& j, int indent = -1);

// The length of the well-formed UTF-8 sequence (RFC 3629: no overlongs, no surrogates, at most
// U+10FFFF) that starts at p, or 0 when none does. REQUIRES: p < end.
std::size_t utf8_sequence_length(const unsigned char* p, const unsigned char* end);

// True when `s` is well-formed UTF-8.
bool is_valid_utf8(std::string_view s);

// `s` with every ill-formed byte replaced by U+FFFD: a name that can be shown and serialised.
std::string valid_utf8(std::string_view s);

}  // namespace dslmodel

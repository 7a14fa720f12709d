// A validating JSON scanner that keeps only chosen top-level members (private to store/).
//
// Accepts exactly the texts nlohmann::json::parse accepts in strict mode (RFC 8259; strings must
// be well-formed UTF-8 without raw control characters; \u escapes with paired surrogates; a
// leading UTF-8 byte order mark is skipped; nothing but whitespace after the value), but builds
// no tree: a snapshot of many small files spends its time in the kernel, not here. Two
// differences, both deliberate: nesting deeper than kMaxJsonDepth (core/json_text.h) is refused,
// as every reader refuses it, and a number too large for a double is not an error of the whole
// text but a value of its own (kOutOfRange), so that one field cannot cost the record. Nesting is
// handled without recursion. Pure; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace dslmodel::store::detail {

enum class JType {
  kAbsent,
  kNull,
  kBool,
  kInt,
  kUnsigned,
  kFloat,
  kOutOfRange,
  kString,
  kObject,
  kArray
};

// One top-level member. Numbers are typed like nlohmann's: non-negative integers that fit are
// kUnsigned, negative ones that fit kInt, everything else kFloat; a number whose magnitude no
// double holds (a 5,000-digit integer, 1e99999) is kOutOfRange. Containers keep only the type.
struct Field {
  JType type = JType::kAbsent;
  std::string s;  // kString: the decoded text; kOutOfRange: the number as written
  std::int64_t i = 0;
  std::uint64_t u = 0;
  double d = 0;
};

enum class ScanResult {
  kObject,
  kNotObject,
  kInvalid,
  kTooDeep,  // nested deeper than kMaxJsonDepth
  kBadUtf8,  // a string holds ill-formed UTF-8
};

// A number, anywhere in the text, that no double holds: bytes [offset, offset + length).
struct OutOfRangeNumber {
  std::size_t offset = 0;
  std::size_t length = 0;
  std::string top_key;  // the top-level member it is in; empty when the top level is not an object
};

// Validates `bytes`; when the top level is an object, stores each member whose key equals
// keys[k] into fields[k] (the last duplicate wins). When `out_of_range` is given, every number
// no double holds is appended to it. REQUIRES: fields[0..n) start kAbsent.
ScanResult scan_top_level(std::string_view bytes, const std::string_view* keys, std::size_t n,
                          Field* fields, std::vector<OutOfRangeNumber>* out_of_range = nullptr);

}  // namespace dslmodel::store::detail

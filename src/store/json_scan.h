// A validating JSON scanner that keeps only chosen top-level members (private to store/).
//
// Accepts exactly the texts nlohmann::json::parse accepts in strict mode (RFC 8259; strings must
// be well-formed UTF-8 without raw control characters; \u escapes with paired surrogates; a
// leading UTF-8 byte order mark is skipped; nothing but whitespace after the value), but builds
// no tree: a snapshot of many small files spends its time in the kernel, not here. Nesting is
// handled without recursion, so depth is bounded by memory only. Pure; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace dslmodel::store::detail {

enum class JType { kAbsent, kNull, kBool, kInt, kUnsigned, kFloat, kString, kObject, kArray };

// One top-level member. Numbers are typed like nlohmann's: non-negative integers that fit are
// kUnsigned, negative ones that fit kInt, everything else kFloat. Containers keep only the type.
struct Field {
  JType type = JType::kAbsent;
  std::string s;  // kString: the decoded text
  std::int64_t i = 0;
  std::uint64_t u = 0;
  double d = 0;
};

enum class ScanResult { kObject, kNotObject, kInvalid };

// Validates `bytes`; when the top level is an object, stores each member whose key equals
// keys[k] into fields[k] (the last duplicate wins). REQUIRES: fields[0..n) start kAbsent.
ScanResult scan_top_level(std::string_view bytes, const std::string_view* keys, std::size_t n,
                          Field* fields);

}  // namespace dslmodel::store::detail

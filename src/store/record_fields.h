// Typed access to the top-level fields of a record as the parsers read them (private to
// record_parse.cc): essential fields that fail a record, other fields that are ignored and named
// in its warning (docs/metrics.md, "Field values"). Pure; thread-safe.
#pragma once

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/json_text.h"
#include "core/rules.h"
#include "dslmodel/time.h"
#include "store/json_scan.h"
#include "store/record_parse.h"

namespace dslmodel::store::detail {

inline Status corrupt(std::string reason) { return {ErrorCode::kCorrupt, std::move(reason)}; }

// A member of a parsed document as the scanner would have kept it.
inline Field field_of(const nlohmann::json& v) {
  Field f;
  switch (v.type()) {
    case nlohmann::json::value_t::null:
    case nlohmann::json::value_t::discarded:
      f.type = JType::kNull;
      break;
    case nlohmann::json::value_t::boolean:
      f.type = JType::kBool;
      break;
    case nlohmann::json::value_t::number_integer:
      f.type = JType::kInt;
      f.i = v.get<std::int64_t>();
      break;
    case nlohmann::json::value_t::number_unsigned:
      f.type = JType::kUnsigned;
      f.u = v.get<std::uint64_t>();
      break;
    case nlohmann::json::value_t::number_float:
      f.type = JType::kFloat;
      f.d = v.get<double>();
      break;
    case nlohmann::json::value_t::string:
      f.type = JType::kString;
      f.s = v.get<std::string>();
      break;
    case nlohmann::json::value_t::object:
      f.type = JType::kObject;
      break;
    case nlohmann::json::value_t::array:
    case nlohmann::json::value_t::binary:
      f.type = JType::kArray;
      break;
  }
  return f;
}

// A value as a warning quotes it: strings quoted, long text cut.
inline std::string shown(const Field& f) {
  std::string text;
  switch (f.type) {
    case JType::kInt:
      return std::to_string(f.i);
    case JType::kUnsigned:
      return std::to_string(f.u);
    case JType::kFloat:
      return fmt::format("{}", f.d);
    case JType::kString:
      text = "\"" + f.s + "\"";
      break;
    case JType::kOutOfRange:
      text = f.s;
      break;
    default:
      return "";
  }
  constexpr std::size_t kMax = 24;
  if (text.size() > kMax) {
    text = fmt::format("{}... ({} characters)", valid_utf8(text.substr(0, kMax)), text.size());
  }
  return text;
}

// An integer written as decimal text, optionally signed; nullopt for anything else.
inline std::optional<std::int64_t> integer_text(std::string_view s) {
  std::int64_t v = 0;
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

inline bool absent(const Field& f) { return f.type == JType::kAbsent || f.type == JType::kNull; }

// Typed access to collected fields. An essential field that is unusable fails the record
// (status()); any other one is ignored and noted (warning()).
class Fields {
 public:
  Fields(const Field* fields, const std::string_view* names) : f_(fields), names_(names) {}

  Status status() const { return error_; }
  const std::string& warning() const { return warning_; }

  // Essential: a string, or an integer written as a number (ids).
  std::optional<std::string> id(int k) {
    const Field& f = f_[k];
    if (f.type == JType::kInt) return std::to_string(f.i);
    if (f.type == JType::kUnsigned) return std::to_string(f.u);
    if (absent(f)) return std::nullopt;
    if (f.type == JType::kString) return f.s;
    fail(k, "a string");
    return std::nullopt;
  }
  // Essential: a string.
  std::string status(int k) {
    const Field& f = f_[k];
    if (f.type == JType::kString) return ::dslmodel::detail::lower(f.s);
    if (!absent(f)) fail(k, "a string");
    return "";
  }
  std::optional<std::string> str(int k) {
    const Field& f = f_[k];
    if (absent(f)) return std::nullopt;
    if (f.type == JType::kString) return f.s;
    note(k, "is not a string");
    return std::nullopt;
  }
  // Whole numbers within `range`: integers, integral floats, numeric strings.
  std::optional<std::int64_t> integer(int k, IntRange range) {
    const Field& f = f_[k];
    if (absent(f)) return std::nullopt;
    std::optional<std::int64_t> v;
    switch (f.type) {
      case JType::kInt:
        v = f.i;
        break;
      case JType::kUnsigned:
        if (f.u <= static_cast<std::uint64_t>(INT64_MAX)) v = static_cast<std::int64_t>(f.u);
        break;
      case JType::kFloat:
        if (std::trunc(f.d) != f.d) {
          note(k, fmt::format("is not an integer: {}", shown(f)));
          return std::nullopt;
        }
        if (std::fabs(f.d) < 9e18) v = static_cast<std::int64_t>(f.d);
        break;
      case JType::kString:
        v = integer_text(f.s);
        if (!v && (f.s.empty() || f.s.find_first_not_of("+-0123456789") != std::string::npos)) {
          note(k, fmt::format("is not an integer: {}", shown(f)));
          return std::nullopt;
        }
        break;
      case JType::kOutOfRange:
        break;
      default:
        note(k, "is not an integer");
        return std::nullopt;
    }
    if (v && *v >= range.min && *v <= range.max) return v;
    out_of_range(k, range);
    return std::nullopt;
  }
  // A number within `range` (fractions kept).
  std::optional<double> number(int k, IntRange range) {
    const Field& f = f_[k];
    if (absent(f)) return std::nullopt;
    std::optional<double> v = number_or_none(f);
    if (!v && f.type != JType::kOutOfRange) {
      note(k, "is not a number");
      return std::nullopt;
    }
    if (v && *v >= static_cast<double>(range.min) && *v <= static_cast<double>(range.max)) {
      return v;
    }
    out_of_range(k, range);
    return std::nullopt;
  }
  // A number (fractions dropped), a numeric string or a priority word; 0 when unusable.
  std::int64_t priority(int k) {
    const Field& f = f_[k];
    if (f.type == JType::kString) {
      if (std::optional<std::int64_t> w = priority_of_word(f.s)) return *w;
      if (f.s.empty() || f.s.find_first_not_of("+-0123456789") != std::string::npos) {
        note(k, fmt::format("is not a number or one of low, medium, high, critical: {}", shown(f)));
        return 0;
      }
    }
    if (f.type == JType::kFloat) {
      const double d = std::trunc(f.d);
      if (d >= static_cast<double>(kPriorityRange.min) &&
          d <= static_cast<double>(kPriorityRange.max)) {
        return static_cast<std::int64_t>(d);
      }
      out_of_range(k, kPriorityRange);
      return 0;
    }
    return integer(k, kPriorityRange).value_or(0);
  }
  // An ISO-8601 string or unix seconds. `invalid` is set for a value that does not parse.
  std::optional<TimePoint> time(int k, bool* invalid = nullptr) {
    const Field& f = f_[k];
    if (absent(f)) return std::nullopt;
    if (f.type == JType::kString) {
      auto t = parse_iso8601(f.s);
      if (!t && invalid != nullptr) *invalid = true;
      return t;
    }
    if (std::optional<double> secs = number_or_none(f)) {
      if (auto t = from_unix_seconds(*secs)) return t;
      if (invalid != nullptr) *invalid = true;
      return std::nullopt;
    }
    if (invalid != nullptr) *invalid = true;
    note(k, "is not a time (an ISO-8601 string or unix seconds)");
    return std::nullopt;
  }
  JType type(int k) const { return f_[k].type; }

  // Adds a note about the record as a whole.
  void note_record(std::string_view what) { append(what); }

  // Notes each top-level member holding a number no double holds, but for the fields read here
  // directly (they have their own note).
  void note_huge(const std::vector<detail::OutOfRangeNumber>& huge, std::size_t n) {
    std::string last;
    for (const detail::OutOfRangeNumber& h : huge) {
      bool direct = false;
      for (std::size_t k = 0; k < n; ++k) {
        direct = direct || (names_[k] == h.top_key && f_[k].type == JType::kOutOfRange);
      }
      if (direct || h.top_key == last) continue;
      last = h.top_key;
      append(fmt::format("field \"{}\" holds a number out of range for a double, read as null",
                         valid_utf8(h.top_key)));
    }
  }

 private:
  static std::optional<double> number_or_none(const Field& f) {
    if (f.type == JType::kInt) return static_cast<double>(f.i);
    if (f.type == JType::kUnsigned) return static_cast<double>(f.u);
    if (f.type == JType::kFloat) return f.d;
    return std::nullopt;
  }
  void fail(int k, std::string_view what) {
    if (error_.ok()) error_ = corrupt(fmt::format("field \"{}\" is not {}", names_[k], what));
  }
  void note(int k, std::string_view what) {
    append(fmt::format("field \"{}\" {}, ignored", names_[k], what));
  }
  void out_of_range(int k, IntRange range) {
    append(fmt::format("field \"{}\" is out of range: {} (allowed {} to {}), ignored", names_[k],
                       shown(f_[k]), range.min, range.max));
  }
  void append(std::string_view text) {
    if (!warning_.empty()) warning_ += "; ";
    warning_ += text;
  }

  const Field* f_;
  const std::string_view* names_;
  Status error_;
  std::string warning_;
};

// The note for a status the metrics do not know, saying how the record counts.
inline void note_status(Fields& f, const std::string& status, bool known,
                        std::string_view counts_as) {
  if (!known)
    f.note_record(fmt::format("status \"{}\" is unknown: {}", valid_utf8(status), counts_as));
}

}  // namespace dslmodel::store::detail

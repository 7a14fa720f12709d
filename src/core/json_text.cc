#include "core/json_text.h"

#include <fmt/format.h>

namespace dslmodel {
namespace {

template <typename J>
Result<J> parse_as(std::string_view text) {
  if (Status s = check_json_depth(text); !s.ok()) return s;
  try {
    return J::parse(text.begin(), text.end());
  } catch (const nlohmann::json::exception& e) {
    // e.what() starts with "[json.exception.parse_error.101] "; the rest is the reason.
    std::string_view what = e.what();
    if (what.starts_with('[')) {
      if (std::size_t close = what.find("] "); close != std::string_view::npos) {
        what.remove_prefix(close + 2);
      }
    }
    return Status(ErrorCode::kCorrupt, fmt::format("invalid JSON: {}", what));
  }
}

}  // namespace

std::string too_deep_reason() { return fmt::format("nested deeper than {} levels", kMaxJsonDepth); }

Status check_json_depth(std::string_view text) {
  std::size_t depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;  // the escaped character cannot end the string
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth) return {ErrorCode::kCorrupt, too_deep_reason()};
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return Status::Ok();
}

Result<nlohmann::json> parse_json(std::string_view text) { return parse_as<nlohmann::json>(text); }

Result<nlohmann::ordered_json> parse_ordered_json(std::string_view text) {
  return parse_as<nlohmann::ordered_json>(text);
}

nlohmann::json parse_json_or_discarded(std::string_view text) {
  if (!check_json_depth(text).ok()) return nlohmann::json(nlohmann::json::value_t::discarded);
  return nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
}

nlohmann::ordered_json parse_ordered_json_or_discarded(std::string_view text) {
  if (!check_json_depth(text).ok()) {
    return nlohmann::ordered_json(nlohmann::ordered_json::value_t::discarded);
  }
  return nlohmann::ordered_json::parse(text.begin(), text.end(), nullptr, false);
}

std::string dump_json(const nlohmann::json& j, int indent) {
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string dump_json(const nlohmann::ordered_json& j, int indent) {
  return j.dump(indent, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

std::size_t utf8_sequence_length(const unsigned char* p, const unsigned char* end) {
  const unsigned char c = *p;
  if (c < 0x80) return 1;
  unsigned char lo = 0x80;
  unsigned char hi = 0xBF;
  std::size_t more = 0;
  if (c >= 0xC2 && c <= 0xDF) {
    more = 1;
  } else if (c >= 0xE0 && c <= 0xEF) {
    more = 2;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    more = 3;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (static_cast<std::size_t>(end - p) <= more) return 0;
  if (p[1] < lo || p[1] > hi) return 0;
  for (std::size_t k = 2; k <= more; ++k) {
    if (p[k] < 0x80 || p[k] > 0xBF) return 0;
  }
  return more + 1;
}

bool is_valid_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    const std::size_t n = utf8_sequence_length(p, end);
    if (n == 0) return false;
    p += n;
  }
  return true;
}

std::string valid_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    const std::size_t n = utf8_sequence_length(p, end);
    if (n == 0) {
      out += "\xEF\xBF\xBD";  // U+FFFD
      ++p;
    } else {
      out.append(reinterpret_cast<const char*>(p), n);
      p += n;
    }
  }
  return out;
}

}  // namespace dslmodel

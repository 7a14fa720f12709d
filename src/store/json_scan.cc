// The scanner is a loop over an explicit stack of open containers ('{' or '['); only members of
// the top-level object are decoded, everything else is validated and skipped.
#include "store/json_scan.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <system_error>

#include "core/json_text.h"

namespace dslmodel::store::detail {
namespace {

bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

int hex_value(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

class Scanner {
 public:
  Scanner(std::string_view bytes, const std::string_view* keys, std::size_t n, Field* fields,
          std::vector<OutOfRangeNumber>* out_of_range)
      : begin_(reinterpret_cast<const unsigned char*>(bytes.data())),
        p_(begin_),
        end_(p_ + bytes.size()),
        keys_(keys),
        n_(n),
        fields_(fields),
        out_of_range_(out_of_range) {}

  ScanResult run();

 private:
  void ws() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
  }
  bool at(unsigned char c) const { return p_ < end_ && *p_ == c; }
  Field* target() { return stack_.size() == 1 && top_object_ ? current_ : nullptr; }
  bool value();
  bool after_value();
  bool key();
  bool string(std::string* out);
  bool utf8();
  bool escape(std::string* out);
  bool hex4(std::uint32_t& cp);
  bool number(Field* f);
  // Moves past a number's grammar; false when there is none. `integer` is cleared by a fraction
  // or an exponent.
  bool skip_number(bool& integer);
  // The number [start, p_) as a 64-bit integer (unsigned unless negative) into *f; false when it
  // does not fit.
  bool store_integer(const unsigned char* start, bool negative, Field* f);
  // The number [start, p_) as a double into *f, or as out of range when it overflows.
  void store_float(const unsigned char* start, Field* f);
  bool literal(const char* word, std::size_t len);

  const unsigned char* begin_;
  const unsigned char* p_;
  const unsigned char* end_;
  const std::string_view* keys_;
  std::size_t n_;
  Field* fields_;
  std::vector<OutOfRangeNumber>* out_of_range_;
  Field* current_ = nullptr;  // the member being read at depth 1, when it is a wanted one
  std::string stack_;         // open containers
  std::string key_;           // the current top-level key
  bool top_object_ = false;
  ScanResult error_ = ScanResult::kInvalid;  // why value() failed
};

ScanResult Scanner::run() {
  if (end_ - p_ >= 3 && p_[0] == 0xEF && p_[1] == 0xBB && p_[2] == 0xBF) p_ += 3;
  ws();
  top_object_ = at('{');
  if (!value()) return error_;
  ws();
  if (p_ != end_) return ScanResult::kInvalid;
  return top_object_ ? ScanResult::kObject : ScanResult::kNotObject;
}

// Reads values until the top-level value is complete.
bool Scanner::value() {
  for (;;) {
    ws();
    if (p_ >= end_) return false;
    Field* f = target();
    unsigned char c = *p_;
    if (c == '{' || c == '[') {
      if (stack_.size() >= kMaxJsonDepth) {  // an empty container is a level too
        error_ = ScanResult::kTooDeep;
        return false;
      }
      if (f != nullptr) f->type = c == '{' ? JType::kObject : JType::kArray;
      ++p_;
      ws();
      if (at(c == '{' ? '}' : ']')) {
        ++p_;
      } else {
        stack_.push_back(static_cast<char>(c));
        if (c == '{' && !key()) return false;
        continue;
      }
    } else if (c == '"') {
      if (f != nullptr) f->s.clear();
      if (!string(f != nullptr ? &f->s : nullptr)) return false;
      if (f != nullptr) f->type = JType::kString;
    } else if (c == '-' || is_digit(c)) {
      if (!number(f)) return false;
    } else if (c == 't' || c == 'f' || c == 'n') {
      bool ok = c == 't' ? literal("true", 4) : c == 'f' ? literal("false", 5) : literal("null", 4);
      if (!ok) return false;
      if (f != nullptr) f->type = c == 'n' ? JType::kNull : JType::kBool;
    } else {
      return false;
    }
    if (!after_value()) return false;
    if (stack_.empty()) return true;
  }
}

// After a value: closes finished containers and positions at the next value. False on error.
bool Scanner::after_value() {
  for (;;) {
    if (stack_.empty()) return true;
    ws();
    if (p_ >= end_) return false;
    const bool in_object = stack_.back() == '{';
    if (*p_ == ',') {
      ++p_;
      return !in_object || key();
    }
    const unsigned char close = in_object ? '}' : ']';
    if (*p_ != close) return false;
    ++p_;
    stack_.pop_back();
  }
}

// Reads `"key" :` inside an object; selects the wanted field at depth 1.
bool Scanner::key() {
  ws();
  if (!at('"')) return false;
  bool top = stack_.size() == 1 && top_object_;
  if (top) key_.clear();
  if (!string(top ? &key_ : nullptr)) return false;
  if (top) {
    current_ = nullptr;
    for (std::size_t k = 0; k < n_; ++k) {
      if (keys_[k] == key_) current_ = &fields_[k];
    }
  }
  ws();
  if (!at(':')) return false;
  ++p_;
  return true;
}

bool Scanner::string(std::string* out) {
  ++p_;  // the opening quote
  const unsigned char* run = p_;
  for (;;) {
    if (p_ >= end_) return false;
    unsigned char c = *p_;
    if (c == '"' || c == '\\') {
      if (out != nullptr) out->append(reinterpret_cast<const char*>(run), p_ - run);
      if (c == '"') {
        ++p_;
        return true;
      }
      if (!escape(out)) return false;
      run = p_;
    } else if (c >= 0x20 && c < 0x80) {
      ++p_;
    } else if (c < 0x20) {
      return false;
    } else if (!utf8()) {
      error_ = ScanResult::kBadUtf8;
      return false;
    }
  }
}

// One multi-byte UTF-8 sequence, well-formed per RFC 3629 (no overlongs, no surrogates).
bool Scanner::utf8() {
  const std::size_t n = utf8_sequence_length(p_, end_);
  if (n < 2) return false;
  p_ += n;
  return true;
}

bool Scanner::hex4(std::uint32_t& cp) {
  if (end_ - p_ < 4) return false;
  cp = 0;
  for (int k = 0; k < 4; ++k) {
    int h = hex_value(p_[k]);
    if (h < 0) return false;
    cp = cp * 16 + static_cast<std::uint32_t>(h);
  }
  p_ += 4;
  return true;
}

// At a backslash: one escape, decoded into `out` when given.
bool Scanner::escape(std::string* out) {
  ++p_;
  if (p_ >= end_) return false;
  unsigned char c = *p_++;
  char plain = 0;
  switch (c) {
    case '"':
      plain = '"';
      break;
    case '\\':
      plain = '\\';
      break;
    case '/':
      plain = '/';
      break;
    case 'b':
      plain = '\b';
      break;
    case 'f':
      plain = '\f';
      break;
    case 'n':
      plain = '\n';
      break;
    case 'r':
      plain = '\r';
      break;
    case 't':
      plain = '\t';
      break;
    case 'u':
      break;
    default:
      return false;
  }
  if (c != 'u') {
    if (out != nullptr) out->push_back(plain);
    return true;
  }
  std::uint32_t cp = 0;
  if (!hex4(cp)) return false;
  if (cp >= 0xDC00 && cp <= 0xDFFF) return false;
  if (cp >= 0xD800 && cp <= 0xDBFF) {
    std::uint32_t low = 0;
    if (end_ - p_ < 2 || p_[0] != '\\' || p_[1] != 'u') return false;
    p_ += 2;
    if (!hex4(low) || low < 0xDC00 || low > 0xDFFF) return false;
    cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
  }
  if (out != nullptr) append_utf8(*out, cp);
  return true;
}

bool Scanner::number(Field* f) {
  const unsigned char* start = p_;
  const bool negative = at('-');
  bool integer = true;
  if (!skip_number(integer)) return false;
  if (integer && store_integer(start, negative, f)) return true;
  store_float(start, f);
  return true;
}

bool Scanner::skip_number(bool& integer) {
  if (at('-')) ++p_;
  if (p_ >= end_ || !is_digit(*p_)) return false;
  if (*p_ == '0') {
    ++p_;
  } else {
    while (p_ < end_ && is_digit(*p_)) ++p_;
  }
  if (at('.')) {
    ++p_;
    integer = false;
    if (p_ >= end_ || !is_digit(*p_)) return false;
    while (p_ < end_ && is_digit(*p_)) ++p_;
  }
  if (at('e') || at('E')) {
    ++p_;
    integer = false;
    if (at('+') || at('-')) ++p_;
    if (p_ >= end_ || !is_digit(*p_)) return false;
    while (p_ < end_ && is_digit(*p_)) ++p_;
  }
  return true;
}

bool Scanner::store_integer(const unsigned char* start, bool negative, Field* f) {
  const char* b = reinterpret_cast<const char*>(start);
  const char* e = reinterpret_cast<const char*>(p_);
  if (!negative) {
    std::uint64_t u = 0;
    if (std::from_chars(b, e, u).ec != std::errc()) return false;
    if (f != nullptr) {
      f->type = JType::kUnsigned;
      f->u = u;
    }
    return true;
  }
  std::int64_t i = 0;
  if (std::from_chars(b, e, i).ec != std::errc()) return false;
  if (f != nullptr) {
    f->type = JType::kInt;
    f->i = i;
  }
  return true;
}

void Scanner::store_float(const unsigned char* start, Field* f) {
  const char* b = reinterpret_cast<const char*>(start);
  const char* e = reinterpret_cast<const char*>(p_);
  // Like nlohmann (strtod): underflow reads as 0 or a denormal. Overflow, which nlohmann makes
  // an error of the whole text, is a value of its own here.
  double d = 0;
  if (std::from_chars(b, e, d).ec == std::errc::result_out_of_range) {
    d = std::strtod(std::string(b, e).c_str(), nullptr);
  }
  if (!std::isfinite(d)) {
    if (out_of_range_ != nullptr) {
      out_of_range_->push_back({static_cast<std::size_t>(start - begin_),
                                static_cast<std::size_t>(p_ - start),
                                top_object_ && !stack_.empty() ? key_ : std::string()});
    }
    if (f != nullptr) {
      f->type = JType::kOutOfRange;
      f->s.assign(b, e);
    }
    return;
  }
  if (f != nullptr) {
    f->type = JType::kFloat;
    f->d = d;
  }
}

bool Scanner::literal(const char* word, std::size_t len) {
  if (static_cast<std::size_t>(end_ - p_) < len || std::memcmp(p_, word, len) != 0) return false;
  p_ += len;
  return true;
}

}  // namespace

ScanResult scan_top_level(std::string_view bytes, const std::string_view* keys, std::size_t n,
                          Field* fields, std::vector<OutOfRangeNumber>* out_of_range) {
  return Scanner(bytes, keys, n, fields, out_of_range).run();
}

}  // namespace dslmodel::store::detail

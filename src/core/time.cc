#include "dslmodel/time.h"

#include <fmt/format.h>

#include <charconv>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace dslmodel {
namespace {

// Reads exactly n digits at s[pos]; advances pos.
bool read_digits(std::string_view s, std::size_t& pos, int n, int& out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (int i = 0; i < n; ++i) {
    char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  pos += n;
  out = v;
  return true;
}

// A TimePoint counts nanoseconds in 64 bits: about ±292 years around 1970. Dates are held to
// whole years inside that span, so no arithmetic on them can overflow.
constexpr int kMinYear = 1678;
constexpr int kMaxYear = 2261;
constexpr double kMaxUnixSeconds = 9.0e9;  // 2255-03-14, inside kMaxYear

// "YYYY-MM-DD" at s[pos]: a real date within [kMinYear, kMaxYear]; advances pos.
std::optional<std::chrono::year_month_day> read_date(std::string_view s, std::size_t& pos) {
  int y = 0, mo = 0, d = 0;
  if (!read_digits(s, pos, 4, y) || pos >= s.size() || s[pos++] != '-' ||
      !read_digits(s, pos, 2, mo) || pos >= s.size() || s[pos++] != '-' ||
      !read_digits(s, pos, 2, d)) {
    return std::nullopt;
  }
  const std::chrono::year_month_day ymd{std::chrono::year{y},
                                        std::chrono::month{static_cast<unsigned>(mo)},
                                        std::chrono::day{static_cast<unsigned>(d)}};
  if (!ymd.ok() || y < kMinYear || y > kMaxYear) return std::nullopt;
  return ymd;
}

// The digits of a fraction of a second at s[pos], at least one; those past microseconds are
// read and dropped. Advances pos.
bool read_fraction(std::string_view s, std::size_t& pos, std::int64_t& micros) {
  std::int64_t scale = 100000;
  std::size_t digits = 0;
  while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
    if (scale > 0) {
      micros += (s[pos] - '0') * scale;
      scale /= 10;
    }
    ++pos;
    ++digits;
  }
  return digits > 0;
}

// "hh:mm", "hh:mm:ss" or "hh:mm:ss.f..." (',' too) at s[pos], at most 23:59:60; advances pos.
std::optional<std::chrono::microseconds> read_time_of_day(std::string_view s, std::size_t& pos) {
  int h = 0, mi = 0, sec = 0;
  std::int64_t micros = 0;
  if (!read_digits(s, pos, 2, h) || pos >= s.size() || s[pos++] != ':' ||
      !read_digits(s, pos, 2, mi)) {
    return std::nullopt;
  }
  if (pos < s.size() && s[pos] == ':') {
    ++pos;
    if (!read_digits(s, pos, 2, sec)) return std::nullopt;
    if (pos < s.size() && (s[pos] == '.' || s[pos] == ',')) {
      ++pos;
      if (!read_fraction(s, pos, micros)) return std::nullopt;
    }
  }
  if (h > 23 || mi > 59 || sec > 60) return std::nullopt;
  return std::chrono::hours{h} + std::chrono::minutes{mi} + std::chrono::seconds{sec} +
         std::chrono::microseconds{micros};
}

// The UTC offset at s[pos] in minutes: none, "Z" ('z'), or '+'/'-' with "hh", "hhmm" or
// "hh:mm"; advances pos.
std::optional<int> read_offset(std::string_view s, std::size_t& pos) {
  if (pos >= s.size()) return 0;
  const char z = s[pos];
  if (z == 'Z' || z == 'z') {
    ++pos;
    return 0;
  }
  if (z != '+' && z != '-') return std::nullopt;
  ++pos;
  int oh = 0, om = 0;
  if (!read_digits(s, pos, 2, oh)) return std::nullopt;
  if (pos < s.size()) {
    if (s[pos] == ':') ++pos;
    if (!read_digits(s, pos, 2, om)) return std::nullopt;
  }
  if (oh > 23 || om > 59) return std::nullopt;
  return (oh * 60 + om) * (z == '+' ? 1 : -1);
}

}  // namespace

std::optional<TimePoint> from_unix_seconds(double seconds) {
  if (!(seconds > -kMaxUnixSeconds && seconds < kMaxUnixSeconds)) return std::nullopt;  // NaN too
  auto d = std::chrono::duration<double>(seconds);
  return TimePoint(std::chrono::duration_cast<TimePoint::duration>(d));
}

std::optional<TimePoint> parse_iso8601(std::string_view s) {
  using namespace std::chrono;
  std::size_t pos = 0;
  const auto ymd = read_date(s, pos);
  if (!ymd) return std::nullopt;
  microseconds time_of_day{0};
  int offset_minutes = 0;
  if (pos < s.size()) {
    if (s[pos] != 'T' && s[pos] != 't' && s[pos] != ' ') return std::nullopt;
    ++pos;
    const auto tod = read_time_of_day(s, pos);
    if (!tod) return std::nullopt;
    const auto offset = read_offset(s, pos);
    if (!offset || pos != s.size()) return std::nullopt;
    time_of_day = *tod;
    offset_minutes = *offset;
  }
  auto tp = sys_days{*ymd} + time_of_day - minutes{offset_minutes};
  return time_point_cast<system_clock::duration>(tp);
}

std::string format_iso8601(TimePoint t) {
  using namespace std::chrono;
  auto ms = floor<milliseconds>(t);
  auto day_start = floor<std::chrono::days>(ms);
  year_month_day ymd{day_start};
  hh_mm_ss<milliseconds> tod{ms - day_start};
  return fmt::format("{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}.{:03d}Z",
                     static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                     static_cast<unsigned>(ymd.day()), tod.hours().count(), tod.minutes().count(),
                     tod.seconds().count(), tod.subseconds().count());
}

std::int64_t unix_millis(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

}  // namespace dslmodel

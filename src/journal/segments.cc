#include "journal/segments.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <system_error>
#include <utility>

#include "core/json_text.h"
#include "platform/unique_fd.h"

namespace dslmodel::journal {
namespace {

namespace fs = std::filesystem;

constexpr int kSeqDigits = 12;

Status io_error(std::string_view what, const fs::path& path, int err) {
  return Status(ErrorCode::kIo, fmt::format("{} {}: {}", what, path.string(), std::strerror(err)));
}

// The first seq a segment's file name carries, or nullopt when `name` is not one of `active`'s.
std::optional<std::int64_t> segment_seq(const fs::path& active, std::string_view name) {
  const std::string stem = active.stem().string() + ".";
  const std::string ext = active.extension().string();
  if (name.size() != stem.size() + kSeqDigits + ext.size() || !name.starts_with(stem) ||
      !name.ends_with(ext)) {
    return std::nullopt;
  }
  const std::string_view digits = name.substr(stem.size(), kSeqDigits);
  std::int64_t seq = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), seq);
  if (ec != std::errc() || end != digits.data() + digits.size() || seq < 1) return std::nullopt;
  return seq;
}

// Reads `want` bytes at `offset`; fewer only at the end of the file.
Result<std::string> read_block(int fd, off_t offset, std::size_t want, const fs::path& path) {
  std::string out(want, '\0');
  std::size_t got = 0;
  while (got < want) {
    ssize_t r = ::pread(fd, out.data() + got, want - got, offset + static_cast<off_t>(got));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return io_error("read", path, errno);
    if (r == 0) break;
    got += static_cast<std::size_t>(r);
  }
  out.resize(got);
  return out;
}

}  // namespace

fs::path segment_path(const fs::path& active, std::int64_t first_seq) {
  return active.parent_path() / fmt::format("{}.{:0{}d}{}", active.stem().string(), first_seq,
                                            kSeqDigits, active.extension().string());
}

Result<std::vector<Segment>> list_segments(const fs::path& active) {
  std::vector<Segment> out;
  const fs::path dir = active.has_parent_path() ? active.parent_path() : fs::path(".");
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec == std::errc::no_such_file_or_directory) return out;
  if (ec) return io_error("list", dir, ec.value());
  for (const fs::directory_entry& e : it) {
    std::optional<std::int64_t> seq = segment_seq(active, e.path().filename().string());
    std::error_code size_ec;
    if (!seq || !e.is_regular_file(size_ec)) continue;
    const std::uintmax_t bytes = e.file_size(size_ec);
    if (size_ec) continue;  // removed meanwhile by retention
    out.push_back({e.path(), *seq, static_cast<std::uint64_t>(bytes)});
  }
  std::sort(out.begin(), out.end(),
            [](const Segment& a, const Segment& b) { return a.first_seq < b.first_seq; });
  return out;
}

void for_each_line(std::string_view data, const std::function<void(std::string_view)>& fn) {
  while (!data.empty()) {
    std::size_t nl = data.find('\n');
    fn(data.substr(0, nl));
    if (nl == std::string_view::npos) break;
    data.remove_prefix(nl + 1);
  }
}

ParsedLines parse_lines(std::string_view data) {
  ParsedLines out;
  for_each_line(data, [&](std::string_view line) {
    if (line.empty()) return;
    if (std::optional<JournalEntry> entry = journal_entry_from_text(line)) {
      out.highest_seq = std::max(out.highest_seq, entry->seq);
      if (!out.entries.empty() && out.entries.back().seq == entry->seq) {
        out.entries.back() = std::move(*entry);
      } else {
        out.entries.push_back(std::move(*entry));
      }
      return;
    }
    const auto offset = static_cast<std::size_t>(line.data() - data.data());
    if (offset + line.size() == data.size() && data.back() != '\n') {
      out.torn_at = offset;
      return;
    }
    const nlohmann::json j = parse_json_or_discarded(line);
    if (j.is_object()) {
      auto seq = j.find("seq");
      if (seq != j.end() && seq->is_number_integer()) {
        out.highest_seq = std::max(out.highest_seq, seq->get<std::int64_t>());
      }
    }
    ++out.corrupt;
    if (!out.first_corrupt) out.first_corrupt = offset;
  });
  return out;
}

Status for_each_newest(const fs::path& path, const std::function<bool(JournalEntry&&)>& fn) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0 && errno == ENOENT) return Status::Ok();
  if (fd < 0) return io_error("open", path, errno);
  platform::UniqueFd closer(fd);
  off_t end = ::lseek(fd, 0, SEEK_END);
  if (end < 0) return io_error("seek", path, errno);
  constexpr std::size_t kBlock = std::size_t{256} * 1024;
  std::string carry;  // the start of the line that ends at the block after this one
  std::int64_t last_seq = 0;
  bool stop = false;
  while (end > 0 && !stop) {
    const off_t begin = std::max<off_t>(0, end - static_cast<off_t>(kBlock));
    Result<std::string> block = read_block(fd, begin, static_cast<std::size_t>(end - begin), path);
    if (!block.ok()) return block.status();
    std::string data = std::move(*block) + carry;
    // The first line may start in an earlier block: keep it for the next round.
    std::size_t first_nl = begin > 0 ? data.find('\n') : std::string::npos;
    std::string_view whole(data);
    if (begin > 0) {
      if (first_nl == std::string::npos) {
        carry = std::move(data);
        end = begin;
        continue;
      }
      whole.remove_prefix(first_nl + 1);
    }
    std::vector<std::string_view> lines;
    for_each_line(whole, [&](std::string_view line) { lines.push_back(line); });
    for (auto it = lines.rbegin(); it != lines.rend() && !stop; ++it) {
      std::optional<JournalEntry> e = journal_entry_from_text(*it);
      if (!e || (last_seq != 0 && e->seq == last_seq)) continue;
      last_seq = e->seq;
      stop = !fn(std::move(*e));
    }
    carry = begin > 0 ? data.substr(0, first_nl + 1) : std::string();
    if (!carry.empty() && carry.back() == '\n') carry.pop_back();
    end = begin;
  }
  return Status::Ok();
}

std::vector<std::size_t> expired_segments(const std::vector<Segment>& segments,
                                          const std::vector<std::optional<TimePoint>>& newest_at,
                                          std::uint64_t active_bytes, const JournalConfig& cfg,
                                          TimePoint now) {
  std::uint64_t total = active_bytes;
  for (const Segment& s : segments) total += s.bytes;
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < segments.size(); ++i) {
    const bool too_old = cfg.max_age.count() > 0 && i < newest_at.size() && newest_at[i] &&
                         now - *newest_at[i] > cfg.max_age;
    const bool too_big = cfg.max_bytes > 0 && total > cfg.max_bytes;
    if (!too_old && !too_big) break;
    out.push_back(i);
    total -= segments[i].bytes;
  }
  return out;
}

}  // namespace dslmodel::journal

#include "journal/journal_index.h"

#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "core/json_text.h"
#include "platform/files.h"

namespace dslmodel::journal {
namespace {

using json = nlohmann::json;

constexpr int kVersion = 1;
constexpr std::size_t kMaxIndexBytes = std::size_t{64} << 20;

}  // namespace

std::filesystem::path index_path(const std::filesystem::path& journal) {
  std::filesystem::path p = journal;
  p += ".index";
  return p;
}

std::optional<JournalIndex> read_index(const std::filesystem::path& journal) {
  Result<std::string> text = platform::read_file_limited(index_path(journal), kMaxIndexBytes);
  if (!text.ok()) return std::nullopt;
  const json j = parse_json_or_discarded(*text);
  if (!j.is_object() || j.value("version", 0) != kVersion) return std::nullopt;
  try {
    std::optional<HistoryFold> fold = HistoryFold::from_json(j.value("fold", json()));
    if (!fold) return std::nullopt;
    JournalIndex index{std::move(*fold)};
    index.active_inode = j.at("active_inode").get<std::uint64_t>();
    index.active_first_seq = j.at("active_first_seq").get<std::int64_t>();
    index.active_size = j.at("active_size").get<std::uint64_t>();
    index.repeat_unwritten = j.at("repeat_unwritten").get<bool>();
    index.highest_seq = j.value("highest_seq", std::int64_t{0});
    return index;
  } catch (const json::exception&) {
    return std::nullopt;
  }
}

Status write_index(const std::filesystem::path& journal, const JournalIndex& index) {
  const json j = {{"version", kVersion},
                  {"active_inode", index.active_inode},
                  {"active_first_seq", index.active_first_seq},
                  {"active_size", index.active_size},
                  {"repeat_unwritten", index.repeat_unwritten},
                  {"highest_seq", index.highest_seq},
                  {"fold", index.fold.to_json()}};
  return platform::atomic_write_file(index_path(journal), dump_json(j));
}

}  // namespace dslmodel::journal

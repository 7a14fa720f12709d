#include "store/snapshot_build.h"

#include <fmt/format.h>

#include <algorithm>
#include <string>
#include <string_view>
#include <utility>

namespace dslmodel::store::detail {
namespace {

template <typename T>
void sort_by_file(std::vector<T>& records) {
  auto by_file = [](const T& a, const T& b) { return a.file < b.file; };
  if (!std::is_sorted(records.begin(), records.end(), by_file)) {
    std::sort(records.begin(), records.end(), by_file);
  }
}

// True when agent record `a` should stand for its id rather than `b`.
bool better(const AgentRecord& a, const AgentRecord& b) {
  if (a.heartbeat.has_value() != b.heartbeat.has_value()) return a.heartbeat.has_value();
  return a.heartbeat && *a.heartbeat > *b.heartbeat;
}
bool better(const WorkRecord& /*a*/, const WorkRecord& /*b*/) { return false; }

// Warns about the records of one id, `files` (ascending indices into `records`, at least two),
// and marks all but the one kept as dropped.
template <typename T>
void drop_group(const std::vector<T>& records, const std::vector<std::size_t>& files,
                std::vector<bool>& dropped, Snapshot& snap) {
  std::size_t kept = files.front();
  for (std::size_t i : files) {
    if (better(records[i], records[kept])) kept = i;
  }
  std::string others;
  std::size_t shown = 0;
  for (std::size_t i : files) {
    if (i == kept) continue;
    dropped[i] = true;
    if (shown++ < kDuplicatePathsShown) others += (others.empty() ? "" : ", ") + records[i].file;
  }
  std::string message =
      fmt::format("id \"{}\" is used by {} files, counted once (this one); also {}",
                  records[kept].id, files.size(), others);
  if (shown > kDuplicatePathsShown) {
    message += fmt::format(" and {} more", shown - kDuplicatePathsShown);
  }
  snap.warnings.push_back({records[kept].file, std::move(message)});
}

// Keeps one record per id in file order. REQUIRES: records sorted by file.
template <typename T>
void drop_duplicates(std::vector<T>& records, Snapshot& snap) {
  // (id, index) sorted: the records of one id are adjacent, in file order.
  std::vector<std::pair<std::string_view, std::size_t>> ids;
  ids.reserve(records.size());
  for (std::size_t i = 0; i < records.size(); ++i) ids.emplace_back(records[i].id, i);
  std::sort(ids.begin(), ids.end());
  std::vector<bool> dropped;
  std::vector<std::size_t> files;
  for (std::size_t g = 0; g < ids.size();) {
    std::size_t end = g + 1;
    while (end < ids.size() && ids[end].first == ids[g].first) ++end;
    if (end - g > 1) {
      if (dropped.empty()) dropped.assign(records.size(), false);
      files.clear();
      for (std::size_t k = g; k < end; ++k) files.push_back(ids[k].second);
      drop_group(records, files, dropped, snap);
    }
    g = end;
  }
  if (dropped.empty()) return;
  std::size_t out = 0;
  for (std::size_t i = 0; i < records.size(); ++i) {
    if (dropped[i]) continue;
    if (out != i) records[out] = std::move(records[i]);
    ++out;
  }
  records.resize(out);
}

}  // namespace

void finish_snapshot(Snapshot& snap) {
  sort_by_file(snap.agents);
  sort_by_file(snap.work);
  sort_by_file(snap.completed);
  sort_by_file(snap.telemetry);
  drop_duplicates(snap.agents, snap);
  drop_duplicates(snap.work, snap);
  std::sort(snap.rejected.begin(), snap.rejected.end(),
            [](const RejectedFile& a, const RejectedFile& b) { return a.name < b.name; });
  std::stable_sort(snap.warnings.begin(), snap.warnings.end(),
                   [](const FileWarning& a, const FileWarning& b) { return a.name < b.name; });
}

}  // namespace dslmodel::store::detail

#include "store/snapshot_build.h"

#include <fmt/format.h>

#include <algorithm>
#include <string>
#include <unordered_map>

namespace dslmodel::store::detail {
namespace {

template <typename T>
void sort_by_file(std::vector<T>& records) {
  std::sort(records.begin(), records.end(), [](const T& a, const T& b) { return a.file < b.file; });
}

// True when agent record `a` should stand for its id rather than `b`.
bool better(const AgentRecord& a, const AgentRecord& b) {
  if (a.heartbeat.has_value() != b.heartbeat.has_value()) return a.heartbeat.has_value();
  return a.heartbeat && *a.heartbeat > *b.heartbeat;
}
bool better(const WorkRecord& /*a*/, const WorkRecord& /*b*/) { return false; }

// Keeps one record per id in file order. REQUIRES: records sorted by file.
template <typename T>
void drop_duplicates(std::vector<T>& records, Snapshot& snap) {
  std::unordered_map<std::string, std::vector<std::size_t>> by_id;
  for (std::size_t i = 0; i < records.size(); ++i) by_id[records[i].id].push_back(i);
  std::vector<bool> dropped(records.size(), false);
  for (auto& [id, files] : by_id) {
    if (files.size() < 2) continue;
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
        fmt::format("id \"{}\" is used by {} files, counted once (this one); also {}", id,
                    files.size(), others);
    if (shown > kDuplicatePathsShown) {
      message += fmt::format(" and {} more", shown - kDuplicatePathsShown);
    }
    snap.warnings.push_back({records[kept].file, std::move(message)});
  }
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

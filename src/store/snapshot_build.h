// How a backend assembles a Snapshot from parsed records, written once for the directory and the
// etcd store (docs/metrics.md): rejected files, warnings of kept records, one record per id.
// Pure functions of their arguments; thread-safe.
#pragma once

#include <string_view>
#include <utility>
#include <vector>

#include "dslmodel/snapshot.h"
#include "dslmodel/status.h"

namespace dslmodel::store::detail {

// At most this many other paths are named in a duplicate-id warning.
inline constexpr std::size_t kDuplicatePathsShown = 10;

// Adds a parsed record to `into` (its warning, if any, to snap.warnings), or the file to
// snap.rejected with the parser's reason.
template <typename T>
void keep_record(Result<T>&& parsed, std::string_view name, std::vector<T>& into, Snapshot& snap) {
  if (!parsed.ok()) {
    snap.rejected.push_back({std::string(name), parsed.status().message()});
    return;
  }
  T record = std::move(parsed).value();
  if (!record.warning.empty()) snap.warnings.push_back({record.file, std::move(record.warning)});
  record.warning.clear();
  into.push_back(std::move(record));
}

// Sorts every list by file name, then keeps one agent and one work record per id: for agents the
// one with the newest heartbeat, for work the first file; each id used by more than one file is
// warned about under the kept file's name, listing the first kDuplicatePathsShown others and how
// many more there are.
void finish_snapshot(Snapshot& snap);

}  // namespace dslmodel::store::detail

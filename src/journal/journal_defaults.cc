// The Journal interface's default reads (dslmodel/journal.h): each folds or filters read_all(),
// for a backend that keeps no index.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

#include "dslmodel/journal.h"
#include "journal/history.h"

namespace dslmodel {

Result<JournalSummary> Journal::summary() const {
  Result<std::vector<JournalEntry>> all = read_all();
  if (!all.ok()) return all.status();
  journal::HistoryFold fold;
  for (const JournalEntry& e : *all) fold.add(e);
  return journal::summary_of(fold);
}

Result<std::vector<JournalEntry>> Journal::newest(std::size_t limit,
                                                  std::int64_t before_seq) const {
  Result<std::vector<JournalEntry>> all = read_all();
  if (!all.ok()) return all.status();
  std::vector<JournalEntry> out;
  for (auto it = all->rbegin(); it != all->rend() && out.size() < limit; ++it) {
    if (before_seq <= 0 || it->seq < before_seq) out.push_back(std::move(*it));
  }
  return out;
}

Result<std::vector<JournalEntry>> Journal::records_of(std::string_view decision_id) const {
  Result<std::vector<JournalEntry>> all = read_all();
  if (!all.ok()) return all.status();
  std::vector<JournalEntry> out;
  for (JournalEntry& e : *all) {
    if (e.decision.id == decision_id) out.push_back(std::move(e));
  }
  return out;
}

}  // namespace dslmodel

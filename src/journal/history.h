// Decision history derived from journal entries: what the policy and gate need to know about the
// past (docs/policy.md: cooldowns and scale-down delay survive restarts and failovers), and the
// views `dsl auto history`, `auto status` and `auto rollback` show.
//
// HistoryFold folds entries one at a time in bounded memory, so a journal can keep it as records
// are appended instead of re-reading itself (docs/journal.md, "Bounded history"); the functions
// below fold a whole vector. Pure; entries are expected oldest first (as read_all returns them).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dslmodel/journal.h"
#include "dslmodel/policy.h"

namespace dslmodel::journal {

// The reason an engine journals for an intent its predecessor left open (killed mid-action).
inline constexpr std::string_view kInterruptedReason =
    "interrupted: the engine stopped before recording an outcome";

// The history of every entry folded so far, in memory bounded by the open intents (an engine
// closes its predecessor's at start) and the constants below, never by the journal's length.
class HistoryFold {
 public:
  static constexpr std::size_t kKeepRecent = 16;  // final outcomes recent() can return
  static constexpr std::size_t kKeepScaleUps = 16;
  static constexpr std::size_t kKeepRecommendations = 256;

  // Folds the next entry (seq and time order). An entry with the seq of the last one folded
  // replaces it (a skipped record counted again, see same_skip()).
  void add(const JournalEntry& e);

  // last_scale_up / last_scale_down: the latest `at` of a kExecuted "scale_up" / "scale_down".
  // last_actuation: the latest `at` of a kExecuted scale decision or of a kRolledBack one
  // (undoing a scaling changes the agent count too, so it restarts the cooldown). A scaling
  // whose outcome is unknown (its intent is still open, or was closed with kInterruptedReason by
  // a later engine, e.g. a new leader after a failover) may have acted: it counts as executed at
  // its intent's `at`, so a failover neither flaps nor repeats it at once. in_flight: distinct
  // decision ids whose kIntent has no later record for the same id.
  DecisionHistory history() const;
  // Intent records with no later outcome for the same decision id, oldest first: actions an
  // engine started and never finished recording (it was killed mid-action).
  std::vector<JournalEntry> open_intents() const;
  // The last n (at most kKeepRecent) final outcomes (every entry but kIntent), newest first.
  std::vector<JournalEntry> recent(std::size_t n) const;
  // The last entry folded, or nullptr.
  const JournalEntry* last() const { return has_last_ ? &last_ : nullptr; }
  std::int64_t last_seq() const { return has_last_ ? last_.seq : 0; }

  // The whole state, for a journal's index; from_json() is its inverse (nullopt when `j` is not
  // such a state).
  nlohmann::json to_json() const;
  static std::optional<HistoryFold> from_json(const nlohmann::json& j);

 private:
  // Records in `h` that `d` acted at `at`, its scaling having started at `started`.
  static void acted(DecisionHistory& h, const Decision& d, TimePoint at, TimePoint started);

  DecisionHistory base_;                      // without the open scale intents
  std::map<std::string, JournalEntry> open_;  // decision id → its open intent
  std::deque<JournalEntry> recent_;           // final outcomes, newest last
  JournalEntry last_;
  bool has_last_ = false;
};

// The summary a journal returns from the fold of its records.
JournalSummary summary_of(const HistoryFold& fold);

// True when `next`, a skipped decision, repeats `last`, the skipped record before it: the same
// type, gate reason, rule reason, scale target and capacity recommendation. A journal counts it
// on that record (JournalEntry::repeats, last_at) instead of writing it again.
bool same_skip(const JournalEntry& last, const JournalEntry& next);

// HistoryFold::open_intents() of the entries.
std::vector<JournalEntry> unresolved_intents(const std::vector<JournalEntry>& entries);

// HistoryFold::history() of the entries.
DecisionHistory history_from_journal(const std::vector<JournalEntry>& entries);

// The latest kExecuted entry for decision_id, or nullopt.
std::optional<JournalEntry> find_executed(const std::vector<JournalEntry>& entries,
                                          std::string_view decision_id);

// True when a kRolledBack entry exists for decision_id.
bool is_rolled_back(const std::vector<JournalEntry>& entries, std::string_view decision_id);

// The last n final outcomes (every entry but kIntent: executed, failed, skipped, rolled_back,
// rollback_failed), newest first.
std::vector<JournalEntry> recent_decisions(const std::vector<JournalEntry>& entries, std::size_t n);

}  // namespace dslmodel::journal

// Decision history derived from journal entries: what the policy and gate need to know about the
// past (docs/policy.md: cooldowns and scale-down delay survive restarts and failovers), and the
// views `dsl auto history`, `auto status` and `auto rollback` show.
//
// Pure functions of their arguments; entries are expected oldest first (as read_all returns
// them). Thread-safe.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>
#include <vector>

#include "dslmodel/journal.h"
#include "dslmodel/policy.h"

namespace dslmodel::journal {

// Intent records with no later outcome for the same decision id, oldest first: actions an engine
// started and never finished recording (it was killed mid-action).
std::vector<JournalEntry> unresolved_intents(const std::vector<JournalEntry>& entries);

// The reason an engine journals for an intent its predecessor left open (killed mid-action).
inline constexpr std::string_view kInterruptedReason =
    "interrupted: the engine stopped before recording an outcome";

// last_scale_up / last_scale_down: the latest `at` of a kExecuted "scale_up" / "scale_down".
// last_actuation: the latest `at` of a kExecuted scale decision or of a kRolledBack one (undoing
// a scaling changes the agent count too, so it restarts the cooldown).
// A scaling whose outcome is unknown (its intent is still open, or was closed with
// kInterruptedReason by a later engine, e.g. a new leader after a failover) may have acted: it
// counts as executed at its intent's `at`, so a failover neither flaps nor repeats it at once.
// in_flight: distinct decision ids whose kIntent has no later record for the same id.
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

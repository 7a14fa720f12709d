#include "journal/history.h"

#include <algorithm>
#include <map>
#include <string>

#include "dslmodel/decision.h"

namespace dslmodel::journal {
namespace {

void keep_latest(std::optional<TimePoint>& slot, TimePoint at) {
  if (!slot || at > *slot) slot = at;
}

bool is_scale(const Decision& d) {
  return d.type == decision_type::kScaleUp || d.type == decision_type::kScaleDown;
}

}  // namespace

std::vector<JournalEntry> unresolved_intents(const std::vector<JournalEntry>& entries) {
  std::map<std::string, const JournalEntry*> open;
  for (const JournalEntry& e : entries) {
    if (e.outcome == Outcome::kIntent) {
      open[e.decision.id] = &e;
    } else {
      open.erase(e.decision.id);
    }
  }
  std::vector<JournalEntry> out;
  out.reserve(open.size());
  for (const auto& [id, e] : open) out.push_back(*e);
  std::sort(out.begin(), out.end(),
            [](const JournalEntry& a, const JournalEntry& b) { return a.seq < b.seq; });
  return out;
}

DecisionHistory history_from_journal(const std::vector<JournalEntry>& entries) {
  DecisionHistory h;
  auto acted = [&h](const Decision& d, TimePoint at) {
    if (d.type == decision_type::kScaleUp) keep_latest(h.last_scale_up, at);
    if (d.type == decision_type::kScaleDown) keep_latest(h.last_scale_down, at);
    if (is_scale(d)) keep_latest(h.last_actuation, at);
  };
  std::map<std::string, TimePoint> open_scales;  // decision id → its intent's time
  for (const JournalEntry& e : entries) {
    const Decision& d = e.decision;
    if (e.outcome == Outcome::kIntent) {
      if (is_scale(d)) open_scales[d.id] = e.at;
      continue;
    }
    auto open = open_scales.find(d.id);
    if (e.outcome == Outcome::kExecuted) {
      acted(d, e.at);
    } else if (e.outcome == Outcome::kRolledBack && is_scale(d)) {
      keep_latest(h.last_actuation, e.at);
    } else if (e.outcome == Outcome::kFailed && e.reason == kInterruptedReason &&
               open != open_scales.end()) {
      acted(d, open->second);
    }
    if (open != open_scales.end()) open_scales.erase(open);
  }
  for (const JournalEntry& e : unresolved_intents(entries)) {
    if (is_scale(e.decision)) acted(e.decision, e.at);
  }
  h.in_flight = static_cast<int>(unresolved_intents(entries).size());
  return h;
}

std::optional<JournalEntry> find_executed(const std::vector<JournalEntry>& entries,
                                          std::string_view decision_id) {
  for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
    if (it->outcome == Outcome::kExecuted && it->decision.id == decision_id) return *it;
  }
  return std::nullopt;
}

bool is_rolled_back(const std::vector<JournalEntry>& entries, std::string_view decision_id) {
  for (const JournalEntry& e : entries) {
    if (e.outcome == Outcome::kRolledBack && e.decision.id == decision_id) return true;
  }
  return false;
}

std::vector<JournalEntry> recent_decisions(const std::vector<JournalEntry>& entries,
                                           std::size_t n) {
  std::vector<JournalEntry> out;
  for (auto it = entries.rbegin(); it != entries.rend() && out.size() < n; ++it) {
    if (it->outcome != Outcome::kIntent) out.push_back(*it);
  }
  return out;
}

}  // namespace dslmodel::journal

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

constexpr std::size_t kKeepScaleUps = 16;
constexpr std::size_t kKeepRecommendations = 256;

std::optional<std::int64_t> int_param(const Decision& d, const char* key) {
  if (!d.parameters.is_object()) return std::nullopt;
  auto it = d.parameters.find(key);
  if (it == d.parameters.end() || !it->is_number_integer()) return std::nullopt;
  return it->get<std::int64_t>();
}

template <typename T>
void keep_last(std::vector<T>& v, std::size_t n) {
  if (v.size() > n) v.erase(v.begin(), v.end() - static_cast<std::ptrdiff_t>(n));
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
    if (d.type == decision_type::kScaleUp) {
      if (!h.last_scale_up || at >= *h.last_scale_up) {
        h.last_scale_up_target =
            d.scale ? std::optional<std::int64_t>(d.scale->target_agents) : std::nullopt;
        h.last_scale_up_reason = d.reason;
      }
      keep_latest(h.last_scale_up, at);
      h.scale_ups.push_back(at);
    }
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
    // Every scale decision the gate saw carries the capacity recommendation of its time.
    if (is_scale(d) && e.outcome != Outcome::kRolledBack && e.outcome != Outcome::kRollbackFailed) {
      if (auto needed = int_param(d, "needed_agents")) h.recommendations.push_back({e.at, *needed});
    }
    auto open = open_scales.find(d.id);
    if (e.outcome == Outcome::kExecuted) {
      acted(d, e.at);
      // The start-up lag runs from when the scaling began (its intent), not from its record.
      if (d.type == decision_type::kScaleUp && open != open_scales.end()) {
        h.scale_ups.back() = open->second;
      }
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
  std::sort(h.scale_ups.begin(), h.scale_ups.end());
  keep_last(h.scale_ups, kKeepScaleUps);
  std::stable_sort(h.recommendations.begin(), h.recommendations.end(),
                   [](const Recommendation& a, const Recommendation& b) { return a.at < b.at; });
  keep_last(h.recommendations, kKeepRecommendations);
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

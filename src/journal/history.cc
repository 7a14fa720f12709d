#include "journal/history.h"

#include <algorithm>
#include <map>
#include <string>
#include <utility>

#include "dslmodel/decision.h"

namespace dslmodel::journal {
namespace {

void keep_latest(std::optional<TimePoint>& slot, TimePoint at) {
  if (!slot || at > *slot) slot = at;
}

bool is_scale(const Decision& d) {
  return d.type == decision_type::kScaleUp || d.type == decision_type::kScaleDown;
}

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

// Inserts after every element that is not later (stable for equal times), keeping the last n.
template <typename T, typename Time>
void insert_by_time(std::vector<T>& v, T value, Time time_of, std::size_t n) {
  auto pos = std::upper_bound(v.begin(), v.end(), value,
                              [&](const T& a, const T& b) { return time_of(a) < time_of(b); });
  v.insert(pos, std::move(value));
  keep_last(v, n);
}

TimePoint time_of_point(const TimePoint& t) { return t; }
TimePoint time_of_recommendation(const Recommendation& r) { return r.at; }

bool is_final(const JournalEntry& e) { return e.outcome != Outcome::kIntent; }

}  // namespace

void HistoryFold::acted(DecisionHistory& h, const Decision& d, TimePoint at, TimePoint started) {
  if (d.type == decision_type::kScaleUp) {
    if (!h.last_scale_up || at >= *h.last_scale_up) {
      h.last_scale_up_target =
          d.scale ? std::optional<std::int64_t>(d.scale->target_agents) : std::nullopt;
      h.last_scale_up_reason = d.reason;
    }
    keep_latest(h.last_scale_up, at);
    // The start-up lag runs from when the scaling began (its intent), not from its record.
    insert_by_time(h.scale_ups, started, time_of_point, kKeepScaleUps);
  }
  if (d.type == decision_type::kScaleDown) keep_latest(h.last_scale_down, at);
  if (is_scale(d)) keep_latest(h.last_actuation, at);
}

void HistoryFold::add(const JournalEntry& e) {
  const bool repeat = has_last_ && e.seq == last_.seq && is_final(e) && is_final(last_);
  last_ = e;
  has_last_ = true;
  const Decision& d = e.decision;
  if (e.outcome == Outcome::kIntent) {
    open_[d.id] = e;
    return;
  }
  if (repeat && !recent_.empty()) {
    recent_.back() = e;
  } else {
    recent_.push_back(e);
    if (recent_.size() > kKeepRecent) recent_.pop_front();
  }
  // Every scale decision the gate saw carries the capacity recommendation of its time; a record
  // counted again carries it at its latest repetition.
  if (is_scale(d) && e.outcome != Outcome::kRolledBack && e.outcome != Outcome::kRollbackFailed) {
    if (auto needed = int_param(d, "needed_agents")) {
      insert_by_time(base_.recommendations, Recommendation{e.last_at.value_or(e.at), *needed},
                     time_of_recommendation, kKeepRecommendations);
    }
  }
  if (repeat) return;
  auto open = open_.find(d.id);
  const bool open_scale = open != open_.end() && is_scale(open->second.decision);
  if (e.outcome == Outcome::kExecuted) {
    acted(base_, d, e.at, open_scale ? open->second.at : e.at);
  } else if (e.outcome == Outcome::kRolledBack && is_scale(d)) {
    keep_latest(base_.last_actuation, e.at);
  } else if (e.outcome == Outcome::kFailed && e.reason == kInterruptedReason && open_scale) {
    acted(base_, d, open->second.at, open->second.at);
  }
  if (open != open_.end()) open_.erase(open);
}

DecisionHistory HistoryFold::history() const {
  DecisionHistory h = base_;
  for (const auto& [id, intent] : open_) {
    if (is_scale(intent.decision)) acted(h, intent.decision, intent.at, intent.at);
  }
  h.in_flight = static_cast<int>(open_.size());
  return h;
}

std::vector<JournalEntry> HistoryFold::open_intents() const {
  std::vector<JournalEntry> out;
  out.reserve(open_.size());
  for (const auto& [id, e] : open_) out.push_back(e);
  std::sort(out.begin(), out.end(),
            [](const JournalEntry& a, const JournalEntry& b) { return a.seq < b.seq; });
  return out;
}

std::vector<JournalEntry> HistoryFold::recent(std::size_t n) const {
  std::vector<JournalEntry> out;
  for (auto it = recent_.rbegin(); it != recent_.rend() && out.size() < n; ++it) {
    out.push_back(*it);
  }
  return out;
}

bool same_skip(const JournalEntry& last, const JournalEntry& next) {
  if (last.outcome != Outcome::kSkipped || next.outcome != Outcome::kSkipped) return false;
  const Decision& a = last.decision;
  const Decision& b = next.decision;
  const auto target = [](const Decision& d) {
    return d.scale ? std::optional<std::int64_t>(d.scale->target_agents) : std::nullopt;
  };
  return a.type == b.type && last.reason == next.reason && a.reason == b.reason &&
         target(a) == target(b) && int_param(a, "needed_agents") == int_param(b, "needed_agents");
}

std::vector<JournalEntry> unresolved_intents(const std::vector<JournalEntry>& entries) {
  HistoryFold fold;
  for (const JournalEntry& e : entries) fold.add(e);
  return fold.open_intents();
}

DecisionHistory history_from_journal(const std::vector<JournalEntry>& entries) {
  HistoryFold fold;
  for (const JournalEntry& e : entries) fold.add(e);
  return fold.history();
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

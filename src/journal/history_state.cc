// HistoryFold as JSON, for a journal's index (docs/journal.md, "Bounded history"), and the
// summary a journal returns from it.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "dslmodel/time.h"
#include "journal/history.h"

namespace dslmodel::journal {
namespace {

using json = nlohmann::json;

json time_json(const std::optional<TimePoint>& t) {
  return t ? json(format_iso8601(*t)) : json(nullptr);
}

// False when present with a value that is not a time.
bool read_time(const json& j, const char* key, std::optional<TimePoint>& out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return true;
  if (!it->is_string()) return false;
  out = parse_iso8601(it->get_ref<const std::string&>());
  return out.has_value();
}

json entries_json(const auto& entries) {
  json out = json::array();
  for (const JournalEntry& e : entries) out.push_back(to_json(e));
  return out;
}

// The entries of j[key], or nullopt when one is not a record.
std::optional<std::vector<JournalEntry>> read_entries(const json& j, const char* key) {
  std::vector<JournalEntry> out;
  auto it = j.find(key);
  if (it == j.end()) return out;
  if (!it->is_array()) return std::nullopt;
  for (const json& e : *it) {
    std::optional<JournalEntry> entry = journal_entry_from_json(e);
    if (!entry) return std::nullopt;
    out.push_back(std::move(*entry));
  }
  return out;
}

json history_json(const DecisionHistory& h) {
  json ups = json::array();
  for (const TimePoint& t : h.scale_ups) ups.push_back(format_iso8601(t));
  json recs = json::array();
  for (const Recommendation& r : h.recommendations) {
    recs.push_back({format_iso8601(r.at), r.agents});
  }
  return {{"last_scale_up", time_json(h.last_scale_up)},
          {"last_scale_down", time_json(h.last_scale_down)},
          {"last_actuation", time_json(h.last_actuation)},
          {"last_scale_up_target", h.last_scale_up_target ? json(*h.last_scale_up_target) : json()},
          {"last_scale_up_reason", h.last_scale_up_reason},
          {"scale_ups", ups},
          {"recommendations", recs}};
}

bool read_history(const json& j, DecisionHistory& h) {
  if (!j.is_object() || !read_time(j, "last_scale_up", h.last_scale_up) ||
      !read_time(j, "last_scale_down", h.last_scale_down) ||
      !read_time(j, "last_actuation", h.last_actuation)) {
    return false;
  }
  if (auto t = j.find("last_scale_up_target"); t != j.end() && !t->is_null()) {
    if (!t->is_number_integer()) return false;
    h.last_scale_up_target = t->get<std::int64_t>();
  }
  h.last_scale_up_reason = j.value("last_scale_up_reason", "");
  for (const json& t : j.value("scale_ups", json::array())) {
    std::optional<TimePoint> at =
        t.is_string() ? parse_iso8601(t.get<std::string>()) : std::nullopt;
    if (!at) return false;
    h.scale_ups.push_back(*at);
  }
  for (const json& r : j.value("recommendations", json::array())) {
    if (!r.is_array() || r.size() != 2 || !r[0].is_string() || !r[1].is_number_integer()) {
      return false;
    }
    std::optional<TimePoint> at = parse_iso8601(r[0].get<std::string>());
    if (!at) return false;
    h.recommendations.push_back({*at, r[1].get<std::int64_t>()});
  }
  return true;
}

}  // namespace

json HistoryFold::to_json() const {
  json open = json::array();
  for (const auto& [id, e] : open_) open.push_back(dslmodel::to_json(e));
  return {{"history", history_json(base_)},
          {"open", std::move(open)},
          {"recent", entries_json(recent_)},
          {"last", has_last_ ? dslmodel::to_json(last_) : json(nullptr)}};
}

std::optional<HistoryFold> HistoryFold::from_json(const json& j) {
  try {
    HistoryFold fold;
    if (!j.is_object() || !read_history(j.value("history", json::object()), fold.base_)) {
      return std::nullopt;
    }
    std::optional<std::vector<JournalEntry>> open = read_entries(j, "open");
    std::optional<std::vector<JournalEntry>> recent = read_entries(j, "recent");
    if (!open || !recent || recent->size() > kKeepRecent) return std::nullopt;
    for (JournalEntry& e : *open) fold.open_[e.decision.id] = std::move(e);
    fold.recent_.assign(recent->begin(), recent->end());
    if (auto last = j.find("last"); last != j.end() && !last->is_null()) {
      std::optional<JournalEntry> e = journal_entry_from_json(*last);
      if (!e) return std::nullopt;
      fold.last_ = std::move(*e);
      fold.has_last_ = true;
    }
    return fold;
  } catch (const json::exception&) {
    return std::nullopt;  // a member of an unexpected type
  }
}

JournalSummary summary_of(const HistoryFold& fold) {
  JournalSummary s;
  s.last_seq = fold.last_seq();
  s.history = fold.history();
  s.open_intents = fold.open_intents();
  s.recent = fold.recent(HistoryFold::kKeepRecent);
  return s;
}

}  // namespace dslmodel::journal

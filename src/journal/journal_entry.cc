// JournalEntry <-> JSON, and Outcome names (declared in dslmodel/journal.h).
#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "core/json_text.h"
#include "dslmodel/journal.h"
#include "dslmodel/time.h"

namespace dslmodel {
namespace {

constexpr std::array<std::pair<Outcome, std::string_view>, 6> kOutcomeNames = {{
    {Outcome::kIntent, "intent"},
    {Outcome::kExecuted, "executed"},
    {Outcome::kFailed, "failed"},
    {Outcome::kSkipped, "skipped"},
    {Outcome::kRolledBack, "rolled_back"},
    {Outcome::kRollbackFailed, "rollback_failed"},
}};

// Reads an optional string field into out. False when present with another type.
bool read_string(const nlohmann::json& j, const char* key, std::string& out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return true;
  if (!it->is_string()) return false;
  out = it->get<std::string>();
  return true;
}

// Reads an optional integer field into out. False when present with another type.
bool read_int(const nlohmann::json& j, const char* key, std::int64_t& out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return true;
  if (!it->is_number_integer()) return false;
  out = it->get<std::int64_t>();
  return true;
}

}  // namespace

std::string_view to_string(Outcome o) {
  for (const auto& [outcome, name] : kOutcomeNames) {
    if (outcome == o) return name;
  }
  return "unknown";
}

std::optional<Outcome> outcome_from_string(std::string_view s) {
  for (const auto& [outcome, name] : kOutcomeNames) {
    if (name == s) return outcome;
  }
  return std::nullopt;
}

nlohmann::json to_json(const JournalEntry& e) {
  nlohmann::json decision = to_json(e.decision);
  // A record names its first actions and counts the rest: an optimize over a large directory
  // plans 100,000 archives, which its inverse lists when it ran (docs/journal.md).
  if (e.decision.actions.size() > kJournaledActions) {
    nlohmann::json& actions = decision["parameters"]["actions"];
    actions.erase(actions.begin() + static_cast<std::ptrdiff_t>(kJournaledActions), actions.end());
    decision["parameters"]["actions_total"] = e.decision.actions.size();
  }
  nlohmann::json j{
      {"seq", e.seq},
      {"at", format_iso8601(e.at)},
      {"outcome", std::string(to_string(e.outcome))},
      {"decision", std::move(decision)},
      {"reason", e.reason},
      {"result", e.result},
      {"output", e.output},
      {"duration_ms", e.duration_ms},
      {"epoch", e.epoch},
      {"inverse", e.inverse},
  };
  if (!e.replica.empty()) j["replica"] = e.replica;
  if (e.repeats > 0) j["repeats"] = e.repeats;
  if (e.last_at) j["last_at"] = format_iso8601(*e.last_at);
  return j;
}

// Required: an object with an integer "seq", a parseable "at" and a known "outcome". Optional
// fields keep their defaults when missing or null; any field of the wrong type rejects the record.
std::optional<JournalEntry> journal_entry_from_json(const nlohmann::json& j) {
  if (!j.is_object()) return std::nullopt;
  JournalEntry e;
  auto seq = j.find("seq");
  auto at = j.find("at");
  auto outcome = j.find("outcome");
  if (seq == j.end() || !seq->is_number_integer() || at == j.end() || !at->is_string() ||
      outcome == j.end() || !outcome->is_string()) {
    return std::nullopt;
  }
  e.seq = seq->get<std::int64_t>();
  auto when = parse_iso8601(at->get_ref<const std::string&>());
  auto kind = outcome_from_string(outcome->get_ref<const std::string&>());
  if (!when || !kind) return std::nullopt;
  e.at = *when;
  e.outcome = *kind;
  if (auto d = j.find("decision"); d != j.end() && !d->is_null()) {
    auto decision = decision_from_json(*d);
    if (!decision) return std::nullopt;
    e.decision = std::move(*decision);
  }
  if (!read_string(j, "reason", e.reason) || !read_string(j, "result", e.result) ||
      !read_string(j, "output", e.output) || !read_int(j, "duration_ms", e.duration_ms) ||
      !read_int(j, "epoch", e.epoch) || !read_string(j, "replica", e.replica) ||
      !read_int(j, "repeats", e.repeats)) {
    return std::nullopt;
  }
  std::string last_at;
  if (!read_string(j, "last_at", last_at)) return std::nullopt;
  if (!last_at.empty()) {
    e.last_at = parse_iso8601(last_at);
    if (!e.last_at) return std::nullopt;
  }
  if (auto inv = j.find("inverse"); inv != j.end() && !inv->is_null()) e.inverse = *inv;
  return e;
}

std::optional<JournalEntry> journal_entry_from_text(std::string_view text) {
  const nlohmann::json j = parse_json_or_discarded(text);
  try {
    return journal_entry_from_json(j);
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;  // a field of an unexpected type deep inside the decision
  }
}

}  // namespace dslmodel

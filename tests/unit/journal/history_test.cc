#include "journal/history.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace dslmodel::journal {
namespace {

TimePoint at_s(std::int64_t s) { return TimePoint(std::chrono::seconds(s)); }

// Builds a journal in order, numbering seqs.
class JournalBuilder {
 public:
  JournalBuilder& add(Outcome outcome, const std::string& id, const std::string& type,
                      std::int64_t at_seconds) {
    JournalEntry e;
    e.seq = static_cast<std::int64_t>(entries_.size()) + 1;
    e.at = at_s(at_seconds);
    e.outcome = outcome;
    e.decision.id = id;
    e.decision.type = type;
    entries_.push_back(e);
    return *this;
  }
  // Sets the last added decision's parameters.
  JournalBuilder& params(nlohmann::json p) {
    entries_.back().decision.parameters = std::move(p);
    lift_payload(entries_.back().decision);  // as reading them from a journal does
    return *this;
  }
  const std::vector<JournalEntry>& entries() const { return entries_; }

 private:
  std::vector<JournalEntry> entries_;
};

TEST(OutcomeNames, RoundTrip) {
  for (Outcome o : {Outcome::kIntent, Outcome::kExecuted, Outcome::kFailed, Outcome::kSkipped,
                    Outcome::kRolledBack, Outcome::kRollbackFailed}) {
    EXPECT_EQ(outcome_from_string(to_string(o)), o);
  }
  EXPECT_EQ(to_string(Outcome::kRolledBack), "rolled_back");
  EXPECT_EQ(to_string(Outcome::kRollbackFailed), "rollback_failed");
  EXPECT_EQ(outcome_from_string("Executed"), std::nullopt);
  EXPECT_EQ(outcome_from_string(""), std::nullopt);
}

TEST(JournalEntryJson, RejectsRecordsMissingRequiredFields) {
  nlohmann::json good = {{"seq", 1}, {"at", "2025-06-27T15:41:04Z"}, {"outcome", "executed"}};
  EXPECT_TRUE(journal_entry_from_json(good).has_value());
  for (const char* key : {"seq", "at", "outcome"}) {
    nlohmann::json bad = good;
    bad.erase(key);
    EXPECT_FALSE(journal_entry_from_json(bad).has_value()) << key;
  }
  nlohmann::json wrong_type = good;
  wrong_type["duration_ms"] = "12";
  EXPECT_FALSE(journal_entry_from_json(wrong_type).has_value());
  EXPECT_FALSE(journal_entry_from_json(nlohmann::json::array()).has_value());
  nlohmann::json bad_time = good;
  bad_time["at"] = "yesterday";
  EXPECT_FALSE(journal_entry_from_json(bad_time).has_value());
}

TEST(JournalEntryJson, WritesTheDocumentedFields) {
  JournalEntry e;
  e.seq = 4;
  e.at = at_s(0);
  e.outcome = Outcome::kSkipped;
  e.reason = "low_confidence";
  nlohmann::json j = to_json(e);
  for (const char* key : {"seq", "at", "outcome", "decision", "reason", "result", "output",
                          "duration_ms", "epoch", "inverse"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  EXPECT_EQ(j["at"], "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(j["outcome"], "skipped");
  auto back = journal_entry_from_json(j);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->reason, "low_confidence");
  EXPECT_EQ(back->seq, 4);
}

TEST(HistoryFromJournal, EmptyJournalHasNoHistory) {
  DecisionHistory h = history_from_journal({});
  EXPECT_FALSE(h.last_scale_up);
  EXPECT_FALSE(h.last_scale_down);
  EXPECT_FALSE(h.last_actuation);
  EXPECT_EQ(h.in_flight, 0);
}

TEST(HistoryFromJournal, TakesTheLatestExecutedScaleOfEachDirection) {
  JournalBuilder b;
  b.add(Outcome::kIntent, "u1", "scale_up", 100)
      .add(Outcome::kExecuted, "u1", "scale_up", 101)
      .add(Outcome::kIntent, "d1", "scale_down", 200)
      .add(Outcome::kExecuted, "d1", "scale_down", 201)
      .add(Outcome::kIntent, "u2", "scale_up", 300)
      .add(Outcome::kExecuted, "u2", "scale_up", 301)
      .add(Outcome::kIntent, "u3", "scale_up", 400)
      .add(Outcome::kFailed, "u3", "scale_up", 401)
      .add(Outcome::kSkipped, "d2", "scale_down", 500)
      .add(Outcome::kExecuted, "c1", "coordination_improve", 600);
  DecisionHistory h = history_from_journal(b.entries());
  EXPECT_EQ(h.last_scale_up, at_s(301));
  EXPECT_EQ(h.last_scale_down, at_s(201));
  EXPECT_EQ(h.last_actuation, at_s(301));
  EXPECT_EQ(h.in_flight, 0);
}

TEST(HistoryFromJournal, KeepsScaleUpsTargetsAndRecommendations) {
  JournalBuilder b;
  b.add(Outcome::kIntent, "u1", "scale_up", 100)
      .params({{"target_agents", 4}, {"needed_agents", 4}})
      .add(Outcome::kExecuted, "u1", "scale_up", 101)
      .params({{"target_agents", 4}, {"needed_agents", 4}})
      .add(Outcome::kSkipped, "u2", "scale_up", 110)
      .params({{"target_agents", 9}, {"needed_agents", 9}})
      .add(Outcome::kIntent, "u3", "scale_up", 130)
      .params({{"target_agents", 6}, {"needed_agents", 6}})
      .add(Outcome::kExecuted, "u3", "scale_up", 131)
      .params({{"target_agents", 6}, {"needed_agents", 6}})
      .add(Outcome::kRolledBack, "u3", "scale_up", 140)
      .params({{"target_agents", 6}, {"needed_agents", 6}})
      .add(Outcome::kExecuted, "c1", "coordination_improve", 150)
      .params({{"needed_agents", 1}});
  DecisionHistory h = history_from_journal(b.entries());
  // From their intents: the start-up lag runs from when the scaling began.
  EXPECT_EQ(h.scale_ups, (std::vector<TimePoint>{at_s(100), at_s(130)}));
  EXPECT_EQ(h.last_scale_up_target, 6);
  // Every scale decision the gate saw (executed or skipped), not intents, rollbacks or repairs.
  ASSERT_EQ(h.recommendations.size(), 3u);
  EXPECT_EQ(h.recommendations[0].at, at_s(101));
  EXPECT_EQ(h.recommendations[1].agents, 9);
  EXPECT_EQ(h.recommendations[2].at, at_s(131));
}

TEST(HistoryFromJournal, RollingBackAScaleRestartsTheCooldown) {
  JournalBuilder b;
  b.add(Outcome::kExecuted, "u1", "scale_up", 100).add(Outcome::kRolledBack, "u1", "scale_up", 150);
  DecisionHistory h = history_from_journal(b.entries());
  EXPECT_EQ(h.last_scale_up, at_s(100));
  EXPECT_FALSE(h.last_scale_down);
  EXPECT_EQ(h.last_actuation, at_s(150));
}

TEST(HistoryFromJournal, CountsIntentsWithoutAnOutcomeAsInFlight) {
  JournalBuilder b;
  b.add(Outcome::kIntent, "a", "scale_up", 1)
      .add(Outcome::kIntent, "b", "coordination_improve", 2)
      .add(Outcome::kIntent, "c", "optimize", 3)
      .add(Outcome::kExecuted, "b", "coordination_improve", 4)
      .add(Outcome::kSkipped, "x", "optimize", 5);
  EXPECT_EQ(history_from_journal(b.entries()).in_flight, 2);
  b.add(Outcome::kFailed, "a", "scale_up", 6).add(Outcome::kExecuted, "c", "optimize", 7);
  EXPECT_EQ(history_from_journal(b.entries()).in_flight, 0);
}

TEST(HistoryFromJournal, AnIntentAfterItsOutcomeIsInFlightAgain) {
  JournalBuilder b;
  b.add(Outcome::kExecuted, "a", "scale_up", 1).add(Outcome::kIntent, "a", "scale_up", 2);
  EXPECT_EQ(history_from_journal(b.entries()).in_flight, 1);
}

// A scaling whose engine died mid-action (a failover) may have acted: it starts the cooldown and
// the scale-down delay at its intent, whether still open or closed as interrupted.
TEST(HistoryFromJournal, AnInterruptedScalingCountsAsActedAtItsIntent) {
  JournalBuilder b;
  b.add(Outcome::kIntent, "u1", "scale_up", 100);
  DecisionHistory open = history_from_journal(b.entries());
  EXPECT_EQ(open.last_scale_up, at_s(100));
  EXPECT_EQ(open.last_actuation, at_s(100));
  EXPECT_EQ(open.in_flight, 1);

  std::vector<JournalEntry> closed = b.entries();
  JournalEntry interrupted = closed.back();
  interrupted.seq = 2;
  interrupted.outcome = Outcome::kFailed;
  interrupted.at = at_s(130);
  interrupted.reason = std::string(kInterruptedReason);
  closed.push_back(interrupted);
  DecisionHistory h = history_from_journal(closed);
  EXPECT_EQ(h.last_scale_up, at_s(100));
  EXPECT_EQ(h.last_actuation, at_s(100));
  EXPECT_EQ(h.in_flight, 0);

  // An ordinary failure (the actuator said no) did not act.
  closed.back().reason = "actuator timed out";
  DecisionHistory failed = history_from_journal(closed);
  EXPECT_FALSE(failed.last_scale_up.has_value());
  EXPECT_FALSE(failed.last_actuation.has_value());
}

TEST(FindExecuted, ReturnsTheExecutedRecordOrNothing) {
  JournalBuilder b;
  b.add(Outcome::kIntent, "a", "scale_up", 1)
      .add(Outcome::kExecuted, "a", "scale_up", 2)
      .add(Outcome::kFailed, "b", "scale_up", 3);
  auto found = find_executed(b.entries(), "a");
  ASSERT_TRUE(found);
  EXPECT_EQ(found->seq, 2);
  EXPECT_FALSE(find_executed(b.entries(), "b"));
  EXPECT_FALSE(find_executed(b.entries(), "zzz"));
}

TEST(IsRolledBack, OnlyARolledBackRecordCounts) {
  JournalBuilder b;
  b.add(Outcome::kExecuted, "a", "scale_up", 1)
      .add(Outcome::kExecuted, "b", "scale_up", 2)
      .add(Outcome::kRollbackFailed, "b", "scale_up", 3)
      .add(Outcome::kRolledBack, "a", "scale_up", 4);
  EXPECT_TRUE(is_rolled_back(b.entries(), "a"));
  EXPECT_FALSE(is_rolled_back(b.entries(), "b"));
  EXPECT_FALSE(is_rolled_back(b.entries(), "c"));
}

TEST(RecentDecisions, NewestFinalOutcomesFirstWithoutIntents) {
  JournalBuilder b;
  b.add(Outcome::kIntent, "a", "scale_up", 1)
      .add(Outcome::kExecuted, "a", "scale_up", 2)
      .add(Outcome::kSkipped, "b", "optimize", 3)
      .add(Outcome::kIntent, "c", "scale_up", 4)
      .add(Outcome::kFailed, "c", "scale_up", 5)
      .add(Outcome::kRolledBack, "a", "scale_up", 6)
      .add(Outcome::kIntent, "d", "optimize", 7);
  auto two = recent_decisions(b.entries(), 2);
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(two[0].seq, 6);
  EXPECT_EQ(two[1].seq, 5);
  auto all = recent_decisions(b.entries(), 100);
  std::vector<std::int64_t> seqs;
  seqs.reserve(all.size());
  for (const auto& e : all) seqs.push_back(e.seq);
  EXPECT_EQ(seqs, (std::vector<std::int64_t>{6, 5, 3, 2}));
  EXPECT_TRUE(recent_decisions(b.entries(), 0).empty());
}

}  // namespace
}  // namespace dslmodel::journal

// The bounded journal (docs/journal.md, "Bounded history"): the fold and its index, counted
// repeats, rotation and retention, reads that cost what was appended, and kill -9 at any point.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "core/json_text.h"
#include "journal/file_journal.h"
#include "journal/history.h"
#include "unit/journal/journal_dir_test.h"

namespace dslmodel::journal {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

TimePoint at_s(std::int64_t s) { return TimePoint(std::chrono::seconds(1'750'000'000 + s)); }

JournalEntry entry(Outcome outcome, const std::string& id, const std::string& type,
                   std::int64_t at_seconds, const std::string& reason = "") {
  JournalEntry e;
  e.at = at_s(at_seconds);
  e.outcome = outcome;
  e.reason = reason;
  e.decision.id = id;
  e.decision.type = type;
  e.decision.reason = "backlog";
  e.decision.confidence = 0.8;
  if (type == "scale_up" || type == "scale_down") {
    e.decision.scale = ScaleTarget{type == "scale_up" ? 4 : 2, 3};
    e.decision.parameters = {{"needed_agents", type == "scale_up" ? 4 : 2}};
  }
  return e;
}

// A journal's worth of cycles: intents and outcomes, repeated skips, rollbacks, interruptions.
std::vector<JournalEntry> random_cycles(std::mt19937& rng, int n) {
  std::vector<JournalEntry> out;
  std::int64_t seq = 0;
  const char* types[] = {"scale_up", "scale_down", "coordination_improve", "optimize"};
  for (int i = 0; i < n; ++i) {
    const std::string id = "d" + std::to_string(i);
    const std::string type = types[rng() % 4];
    const int roll = static_cast<int>(rng() % 10);
    auto push = [&](JournalEntry e) {
      e.seq = ++seq;
      out.push_back(std::move(e));
    };
    if (roll < 5) {
      push(entry(Outcome::kSkipped, id, type, i, roll < 3 ? "cooldown" : "dry_run"));
      continue;
    }
    push(entry(Outcome::kIntent, id, type, i));
    if (roll == 9) continue;  // left open
    if (roll == 8) {
      push(entry(Outcome::kFailed, id, type, i, std::string(kInterruptedReason)));
      continue;
    }
    push(entry(Outcome::kExecuted, id, type, i));
    if (roll == 7) push(entry(Outcome::kRolledBack, id, type, i + 1));
  }
  return out;
}

TEST(HistoryFold, SavedAndRestoredAnywhereFoldsTheSame) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 20; ++trial) {
    const std::vector<JournalEntry> all = random_cycles(rng, 300);
    HistoryFold straight;
    for (const JournalEntry& e : all) straight.add(e);
    HistoryFold resumed;
    for (std::size_t i = 0; i < all.size(); ++i) {
      if (i % 37 == 0) {
        std::optional<HistoryFold> back = HistoryFold::from_json(resumed.to_json());
        ASSERT_TRUE(back.has_value()) << "at " << i;
        resumed = std::move(*back);
      }
      resumed.add(all[i]);
    }
    EXPECT_EQ(resumed.to_json(), straight.to_json()) << "trial " << trial;
    EXPECT_EQ(summary_of(resumed).history.in_flight, summary_of(straight).history.in_flight);
  }
  EXPECT_FALSE(HistoryFold::from_json(nlohmann::json::array()).has_value());
  EXPECT_FALSE(HistoryFold::from_json({{"recent", "x"}}).has_value());
}

class BoundedJournalTest : public JournalDirTest {
 protected:
  std::vector<std::string> lines() const {
    std::ifstream in(file_);
    std::vector<std::string> out;
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
  }
  // Bytes of the journal's record files (the active file and its segments).
  std::uint64_t record_bytes() const {
    std::uint64_t total = 0;
    for (const auto& e : fs::directory_iterator(file_.parent_path())) {
      const std::string name = e.path().filename().string();
      if (name.starts_with("journal.") && name.ends_with(".jsonl")) total += e.file_size();
    }
    return total;
  }
  // An existing journal of n records, written as an earlier version did: no index.
  void write_old_journal(int n) {
    fs::create_directories(file_.parent_path());
    std::ofstream out(file_, std::ios::binary);
    for (int i = 1; i <= n; ++i) {
      JournalEntry e = entry(Outcome::kSkipped, "old" + std::to_string(i), "scale_up", i,
                             i % 2 ? "cooldown" : "dry_run");
      e.seq = i;
      out << dump_json(to_json(e)) << '\n';
    }
  }
};

TEST_F(BoundedJournalTest, RepeatedSkipsAreCountedOnOneRecord) {
  FileJournal j(file_);
  for (int i = 0; i < 100; ++i) {
    auto seq =
        j.append(entry(Outcome::kSkipped, "s" + std::to_string(i), "scale_up", i, "cooldown"));
    ASSERT_TRUE(seq.ok()) << seq.status().message();
    EXPECT_EQ(*seq, 1);
  }
  EXPECT_EQ(lines().size(), 1u);
  auto summary = j.summary();
  ASSERT_TRUE(summary.ok());
  ASSERT_EQ(summary->recent.size(), 1u);
  EXPECT_EQ(summary->recent[0].repeats, 99);
  EXPECT_EQ(summary->recent[0].at, at_s(0));
  EXPECT_EQ(summary->recent[0].last_at, at_s(99));
  // Another process sees the count before any line holds it.
  FileJournal other(file_);
  auto newest = other.newest(5);
  ASSERT_TRUE(newest.ok());
  ASSERT_EQ(newest->size(), 1u);
  EXPECT_EQ(newest->front().repeats, 99);

  // A different skip (another reason) is a new record; the count is written first.
  ASSERT_EQ(*j.append(entry(Outcome::kSkipped, "t", "scale_up", 100, "dry_run")), 2);
  EXPECT_EQ(lines().size(), 3u);
  auto all = FileJournal(file_).read_all();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].seq, 1);
  EXPECT_EQ((*all)[0].repeats, 99);
  EXPECT_EQ((*all)[0].last_at, at_s(99));
  EXPECT_EQ((*all)[1].repeats, 0);
  // A skip of another target is not a repeat either.
  JournalEntry bigger = entry(Outcome::kSkipped, "u", "scale_up", 101, "dry_run");
  bigger.decision.scale->target_agents = 9;
  EXPECT_EQ(*j.append(bigger), 3);
}

TEST_F(BoundedJournalTest, RotationAndRetentionBoundTheFiles) {
  JournalConfig cfg;
  cfg.segment_bytes = 4096;
  cfg.max_bytes = 65536;
  FileJournal j(file_, cfg);
  constexpr int kRecords = 1500;
  for (int i = 1; i <= kRecords; ++i) {
    ASSERT_TRUE(j.append(entry(Outcome::kExecuted, "e" + std::to_string(i), "optimize", i)).ok());
  }
  EXPECT_LE(record_bytes(), cfg.max_bytes + cfg.segment_bytes);
  auto all = j.read_all();
  ASSERT_TRUE(all.ok());
  ASSERT_FALSE(all->empty());
  EXPECT_GT(all->front().seq, 1);  // the oldest segments are gone
  EXPECT_EQ(all->back().seq, kRecords);
  for (std::size_t i = 1; i < all->size(); ++i) EXPECT_EQ((*all)[i].seq, (*all)[i - 1].seq + 1);
  // The summary still has everything it ever folded; seqs continue after a reopen.
  FileJournal again(file_, cfg);
  EXPECT_EQ(again.summary()->last_seq, kRecords);
  EXPECT_EQ(*again.append(entry(Outcome::kExecuted, "next", "optimize", kRecords + 1)),
            kRecords + 1);
  auto page = again.newest(3, kRecords);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 3u);
  EXPECT_EQ((*page)[0].seq, kRecords - 1);
  EXPECT_EQ((*page)[2].seq, kRecords - 3);
}

TEST_F(BoundedJournalTest, SegmentsOlderThanMaxAgeAreRemoved) {
  JournalConfig cfg;
  cfg.segment_bytes = 2048;
  cfg.max_age = std::chrono::hours(24 * 3);
  FileJournal j(file_, cfg);
  constexpr std::int64_t kDay = 86400;
  for (int i = 0; i < 600; ++i) {
    ASSERT_TRUE(
        j.append(entry(Outcome::kExecuted, "e" + std::to_string(i), "optimize", i * kDay / 20))
            .ok());
  }
  auto all = j.read_all();
  ASSERT_TRUE(all.ok());
  const TimePoint newest = all->back().at;
  // Everything older than max_age, but for what shares a segment with younger records, is gone.
  EXPECT_LT(newest - all->front().at, cfg.max_age + std::chrono::hours(24));
  EXPECT_GE(newest - all->front().at, cfg.max_age - std::chrono::hours(24));
}

TEST_F(BoundedJournalTest, ReadsCostWhatWasAppendedNotTheHistory) {
  constexpr int kOld = 20000;
  write_old_journal(kOld);
  FileJournal first(file_);
  auto s1 = first.summary();  // no index yet: folds every record once, and saves the index
  ASSERT_TRUE(s1.ok());
  EXPECT_EQ(s1->last_seq, kOld);
  EXPECT_EQ(first.records_read(), kOld);

  FileJournal loop(file_);
  ASSERT_TRUE(loop.summary().ok());
  EXPECT_EQ(loop.records_read(), 0);  // the index alone
  for (int cycle = 0; cycle < 50; ++cycle) {
    ASSERT_TRUE(loop.append(entry(Outcome::kExecuted, "c" + std::to_string(cycle), "optimize",
                                  kOld + cycle))
                    .ok());
    ASSERT_TRUE(loop.summary().ok());
  }
  EXPECT_LE(loop.records_read(), 50);  // each record appended, read back once
  auto page = loop.newest(10);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->front().seq, kOld + 50);
  EXPECT_LE(loop.records_read(), 50 + 12);

  FileJournal status(file_);  // a one-shot command
  auto s2 = status.summary();
  ASSERT_TRUE(s2.ok());
  EXPECT_EQ(s2->last_seq, kOld + 50);
  EXPECT_LE(status.records_read(), 1);
}

TEST_F(BoundedJournalTest, AnIndexThatDisagreesIsRebuilt) {
  FileJournal j(file_);
  ASSERT_TRUE(j.append(entry(Outcome::kIntent, "up", "scale_up", 10)).ok());
  ASSERT_TRUE(j.append(entry(Outcome::kExecuted, "up", "scale_up", 11)).ok());
  ASSERT_TRUE(j.append(entry(Outcome::kIntent, "open", "coordination_improve", 12)).ok());
  const fs::path index = file_.string() + ".index";
  for (const std::string& damage : {std::string("garbage"), std::string(""), std::string("{}")}) {
    std::ofstream(index, std::ios::binary | std::ios::trunc) << damage;
    auto s = FileJournal(file_).summary();
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(s->last_seq, 3) << damage;
    EXPECT_EQ(s->history.last_scale_up, at_s(11)) << damage;
    ASSERT_EQ(s->open_intents.size(), 1u) << damage;
    EXPECT_EQ(s->open_intents[0].decision.id, "open");
  }
  // The journal replaced by another file: the old index does not describe it.
  ASSERT_TRUE(FileJournal(file_).summary().ok());
  fs::remove(file_);
  {
    std::ofstream out(file_);
    JournalEntry e = entry(Outcome::kExecuted, "other", "scale_down", 20);
    e.seq = 1;
    out << dump_json(to_json(e)) << '\n';
  }
  auto s = FileJournal(file_).summary();
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->last_seq, 1);
  EXPECT_FALSE(s->history.last_scale_up.has_value());
  EXPECT_EQ(s->history.last_scale_down, at_s(20));
}

TEST_F(BoundedJournalTest, LongActionListsAreSummarized) {
  JournalEntry e = entry(Outcome::kSkipped, "opt", "optimize", 0, "dry_run");
  for (int i = 0; i < 5000; ++i) {
    e.decision.actions.push_back(
        {RepairOp::kArchive, "completed_" + std::to_string(i) + ".json", "", "retention"});
  }
  FileJournal j(file_);
  ASSERT_TRUE(j.append(e).ok());
  const std::vector<std::string> written = lines();
  ASSERT_EQ(written.size(), 1u);
  EXPECT_LT(written[0].size(), 8000u);
  const nlohmann::json line = nlohmann::json::parse(written[0]);
  EXPECT_EQ(line["decision"]["parameters"]["actions"].size(), kJournaledActions);
  EXPECT_EQ(line["decision"]["parameters"]["actions_total"], 5000);
}

// A child appends cycles (intents, outcomes, repeated skips) with tiny segments, so that it
// rotates and removes segments all the time, and is SIGKILLed at a random moment. Afterwards the
// history, rollback and cooldown inputs are still right, from the index and rebuilt alike.
TEST_F(BoundedJournalTest, KillDashNineDuringRotationAndRetentionKeepsHistory) {
  std::random_device rd;
  const unsigned seed = rd();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  JournalConfig cfg;
  cfg.segment_bytes = 1500;
  cfg.max_bytes = 12000;
  std::int64_t acknowledged = 0;
  int cycle_base = 0;
  for (int trial = 0; trial < 30; ++trial, cycle_base += 100000) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(fds[0]);
      FileJournal mine(file_, cfg);
      for (int c = cycle_base;; ++c) {
        const std::string id = "d" + std::to_string(c);
        const bool act = c % 7 == 0;
        auto seq = act ? mine.append(entry(Outcome::kIntent, id, "scale_up", c))
                       : mine.append(entry(Outcome::kSkipped, id, "scale_up", c, "cooldown"));
        if (act && seq.ok()) seq = mine.append(entry(Outcome::kExecuted, id, "scale_up", c));
        if (!seq.ok()) ::_exit(1);
        const std::int64_t v[2] = {*seq, act ? c : -1};
        if (::write(fds[1], v, sizeof v) != sizeof v) ::_exit(2);
      }
    }
    ::close(fds[1]);
    std::this_thread::sleep_for(std::chrono::milliseconds(5 + rng() % 80));
    ::kill(pid, SIGKILL);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the child stopped on its own: " << status;
    std::int64_t last_act = -1;
    for (std::int64_t v[2]; ::read(fds[0], v, sizeof v) == sizeof v;) {
      acknowledged = std::max(acknowledged, v[0]);
      if (v[1] >= 0) last_act = v[1];
    }
    ::close(fds[0]);

    FileJournal reader(file_, cfg);
    auto s = reader.summary();
    ASSERT_TRUE(s.ok()) << s.status().message();
    EXPECT_GE(s->last_seq, acknowledged);
    auto all = reader.read_all();
    ASSERT_TRUE(all.ok());
    ASSERT_FALSE(all->empty());
    EXPECT_GE(all->back().seq, acknowledged);
    for (std::size_t i = 1; i < all->size(); ++i) EXPECT_EQ((*all)[i].seq, (*all)[i - 1].seq + 1);
    if (last_act >= 0) {
      // The cooldown's input: the last acknowledged scale-up (or one after it, not acknowledged).
      ASSERT_TRUE(s->history.last_scale_up.has_value());
      EXPECT_GE(*s->history.last_scale_up, at_s(last_act));
      auto records = reader.records_of("d" + std::to_string(last_act));
      ASSERT_TRUE(records.ok());
      ASSERT_EQ(records->size(), 2u);  // rollback finds the executed record
      EXPECT_EQ(records->back().outcome, Outcome::kExecuted);
    }
    // The index rebuilt from the segments says the same.
    fs::remove(file_.string() + ".index");
    auto rebuilt = FileJournal(file_, cfg).summary();
    ASSERT_TRUE(rebuilt.ok());
    EXPECT_EQ(rebuilt->last_seq, s->last_seq);
    EXPECT_EQ(rebuilt->history.last_scale_up, s->history.last_scale_up);
  }
  EXPECT_LE(record_bytes(), cfg.max_bytes + cfg.segment_bytes + 1024);
}

}  // namespace
}  // namespace dslmodel::journal

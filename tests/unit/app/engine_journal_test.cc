// The engine over a long journal: a cycle reads what the journal gained, not its history
// (docs/journal.md, "Bounded history").
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "core/json_text.h"
#include "dslmodel/engine.h"
#include "journal/file_journal.h"
#include "store/dir_store.h"

namespace dslmodel {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class FixedClock final : public Clock {
 public:
  explicit FixedClock(TimePoint* t) : t_(t) {}
  TimePoint now() const override { return *t_; }
  std::chrono::steady_clock::time_point steady_now() const override {
    return std::chrono::steady_clock::time_point(t_->time_since_epoch());
  }

 private:
  TimePoint* t_;
};

TEST(EngineJournal, CyclesReadWhatTheJournalGainedNotItsHistory) {
  std::string tmpl = (fs::temp_directory_path() / "dsl-engine-journal-XXXXXX").string();
  ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
  const fs::path dir = tmpl;
  TimePoint now = TimePoint{} + 1'800'000'000s;
  for (int i = 0; i < 30; ++i) {
    std::ofstream(dir / ("work_" + std::to_string(i) + ".json"))
        << R"({"status":"pending","created":"2027-01-15T08:00:00Z"})";
  }
  fs::create_directories(dir / ".dsl");
  constexpr int kOld = 20000;
  {
    std::ofstream out(dir / ".dsl" / "journal.jsonl");
    for (int i = 1; i <= kOld; ++i) {
      JournalEntry e;
      e.seq = i;
      e.at = now - 1h + std::chrono::milliseconds(i);
      e.outcome = Outcome::kSkipped;
      e.reason = i % 2 ? "cooldown" : "no_actuator";
      e.decision.id = "old-" + std::to_string(i);
      e.decision.type = "scale_up";
      out << dump_json(to_json(e)) << '\n';
    }
  }
  EngineParts parts;
  parts.store = std::make_unique<store::DirStore>(dir);
  auto journal = std::make_unique<journal::FileJournal>(dir / ".dsl" / "journal.jsonl");
  const journal::FileJournal* j = journal.get();
  parts.journal = std::move(journal);
  parts.clock = std::make_unique<FixedClock>(&now);
  AutonomousDecisionEngine engine(Config{}, std::move(parts));

  ASSERT_TRUE(engine.run_cycle().ok());
  const std::int64_t first = j->records_read();
  EXPECT_GE(first, kOld);  // an old journal without an index is folded once
  for (int cycle = 0; cycle < 20; ++cycle) {
    now += 5s;
    const std::int64_t before = j->records_read();
    auto c = engine.run_cycle();
    ASSERT_TRUE(c.ok());
    EXPECT_LE(j->records_read() - before, 10) << "cycle " << cycle;
  }
  EXPECT_FALSE(engine.journal_summary().recent.empty());
  auto last = engine.history(1);
  ASSERT_TRUE(last.ok());
  ASSERT_EQ(last->size(), 1u);
  EXPECT_GT(last->front().seq, kOld);
  std::error_code ec;
  fs::remove_all(dir, ec);
}

}  // namespace
}  // namespace dslmodel

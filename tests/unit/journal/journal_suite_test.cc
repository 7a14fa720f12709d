// The Journal contract (include/dslmodel/journal.h), run over every backend.
//
// Each case is written once against the interface; journal_fixture.h gives each backend an empty
// journal location. A third backend is a new fixture there and one more entry in kBackends
// below, nothing else (docs/testing.md, "Interface suites"). What only one backend has (fsync,
// torn lines, flock, key layout, leader fencing) stays in file_journal_test.cc and
// etcd_journal_test.cc.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "journal_fixture.h"

namespace dslmodel::journal::suite {
namespace {

TimePoint at_ms(std::int64_t ms) { return TimePoint(std::chrono::milliseconds(ms)); }

JournalEntry make_entry(Outcome outcome, const std::string& id,
                        const std::string& type = "scale_up") {
  JournalEntry e;
  e.at = at_ms(1'750'000'000'123);
  e.outcome = outcome;
  e.decision.id = id;
  e.decision.type = type;
  e.decision.confidence = 0.75;
  e.decision.created_at = at_ms(1'750'000'000'000);
  return e;
}

// Every seq from 1 to n appears exactly once, in increasing order.
void expect_contiguous(const std::vector<JournalEntry>& entries, std::size_t n) {
  ASSERT_EQ(entries.size(), n);
  for (std::size_t i = 0; i < entries.size(); ++i) {
    EXPECT_EQ(entries[i].seq, static_cast<std::int64_t>(i + 1)) << "at index " << i;
  }
}

template <typename Fixture>
class JournalSuite : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string why = backend_.unavailable(); !why.empty()) GTEST_SKIP() << why;
  }
  Fixture backend_;
};

using kBackends = ::testing::Types<FileJournalFixture, EtcdJournalFixture>;

class BackendNames {
 public:
  template <typename T>
  static std::string GetName(int) {
    return T::kName;
  }
};

TYPED_TEST_SUITE(JournalSuite, kBackends, BackendNames);

TYPED_TEST(JournalSuite, EmptyJournalReadsEmpty) {
  auto j = this->backend_.open();
  auto all = j->read_all();
  ASSERT_TRUE(all.ok()) << all.status().message();
  EXPECT_TRUE(all->empty());
}

TYPED_TEST(JournalSuite, AppendAssignsSequentialSeqs) {
  auto j = this->backend_.open();
  for (int i = 1; i <= 3; ++i) {
    auto seq = j->append(make_entry(Outcome::kExecuted, "dec-" + std::to_string(i)));
    ASSERT_TRUE(seq.ok()) << seq.status().message();
    EXPECT_EQ(*seq, i);
  }
  auto all = j->read_all();
  ASSERT_TRUE(all.ok());
  expect_contiguous(*all, 3);
  EXPECT_EQ((*all)[2].decision.id, "dec-3");
}

TYPED_TEST(JournalSuite, RoundTripsEveryField) {
  JournalEntry e = make_entry(Outcome::kRolledBack, "dec-9", "scale_down");
  e.decision.priority = 7;
  e.decision.rationale = "8 agents idle, health 0.95";
  e.decision.reason = "idle_capacity";
  e.decision.scale = ScaleTarget{5, 8};
  e.decision.parameters = {{"work_queue_size", 0}, {"health_score", 0.95}};
  e.reason = "why";
  e.result = "scaled from 5 to 8 agents via hook";
  e.output = "line 1\nline 2\n";
  e.duration_ms = 1234;
  e.epoch = 0;
  e.replica = "replica-a";
  e.inverse = {{"kind", "command"}, {"current_agents", 5}, {"target_agents", 8}};
  auto j = this->backend_.open();
  ASSERT_TRUE(j->append(e).ok());
  auto all = j->read_all();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  const JournalEntry& got = all->front();
  EXPECT_EQ(got.seq, 1);
  EXPECT_EQ(got.at, e.at);
  EXPECT_EQ(got.outcome, Outcome::kRolledBack);
  EXPECT_EQ(got.decision.id, "dec-9");
  EXPECT_EQ(got.decision.type, "scale_down");
  EXPECT_EQ(got.decision.priority, 7);
  EXPECT_EQ(got.decision.rationale, e.decision.rationale);
  EXPECT_EQ(got.decision.parameters, e.decision.parameters);
  ASSERT_TRUE(got.decision.scale.has_value());
  EXPECT_EQ(got.decision.scale->target_agents, 5);
  EXPECT_EQ(got.decision.scale->current_agents, 8);
  EXPECT_EQ(got.decision.created_at, e.decision.created_at);
  EXPECT_EQ(got.reason, "why");
  EXPECT_EQ(got.result, e.result);
  EXPECT_EQ(got.output, e.output);
  EXPECT_EQ(got.duration_ms, 1234);
  EXPECT_EQ(got.replica, "replica-a");
  EXPECT_EQ(got.inverse, e.inverse);
}

TYPED_TEST(JournalSuite, RecordsSurviveReopenAndSeqContinues) {
  {
    auto j = this->backend_.open();
    ASSERT_TRUE(j->append(make_entry(Outcome::kIntent, "a")).ok());
    ASSERT_TRUE(j->append(make_entry(Outcome::kExecuted, "a")).ok());
  }
  auto reopened = this->backend_.open();
  auto all = reopened->read_all();
  ASSERT_TRUE(all.ok());
  expect_contiguous(*all, 2);
  auto seq = reopened->append(make_entry(Outcome::kIntent, "b"));
  ASSERT_TRUE(seq.ok());
  EXPECT_EQ(*seq, 3);
}

TYPED_TEST(JournalSuite, OutputIsCutToItsTail) {
  constexpr std::size_t kMax = TypeParam::kMaxOutputBytes;
  auto j = this->backend_.open();
  JournalEntry e = make_entry(Outcome::kExecuted, "big");
  std::string big;
  while (big.size() < kMax + 100) big += "é";  // 2 bytes each
  big += "END";
  e.output = big;
  ASSERT_TRUE(j->append(e).ok());
  auto all = j->read_all();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  const std::string& out = (*all)[0].output;
  EXPECT_LE(out.size(), kMax);
  EXPECT_GE(out.size(), kMax - 1);
  EXPECT_EQ(out.substr(out.size() - 3), "END");
  EXPECT_EQ(big.substr(big.size() - out.size()), out);
  EXPECT_NE(static_cast<unsigned char>(out[0]) & 0xC0, 0x80);  // starts on a character
}

TYPED_TEST(JournalSuite, InvalidUtf8InOutputIsStoredReadably) {
  auto j = this->backend_.open();
  JournalEntry e = make_entry(Outcome::kFailed, "a");
  e.output = "bad \xff\xfe bytes";
  ASSERT_TRUE(j->append(e).ok());
  auto all = j->read_all();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ(all->front().output.substr(0, 4), "bad ");
}

TYPED_TEST(JournalSuite, ThreadsSharingOneJournalGetUniqueSeqs) {
  auto j = this->backend_.open();
  {
    std::vector<std::jthread> threads;
    threads.reserve(4);
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&j, t] {
        for (int i = 0; i < 25; ++i) {
          EXPECT_TRUE(j->append(make_entry(Outcome::kExecuted, std::to_string(t))).ok());
        }
      });
    }
  }
  auto all = j->read_all();
  ASSERT_TRUE(all.ok());
  expect_contiguous(*all, 100);
}

TYPED_TEST(JournalSuite, SeparateJournalsNeverReuseASeqAndLoseNothing) {
  constexpr int kWriters = 4;
  constexpr int kEach = 25;
  constexpr std::size_t kTotal = std::size_t{kWriters} * kEach;
  {
    std::vector<std::jthread> threads;
    threads.reserve(kWriters);
    for (int w = 0; w < kWriters; ++w) {
      threads.emplace_back([mine = this->backend_.open(), w] {
        for (int i = 0; i < kEach; ++i) {
          std::string id = "w" + std::to_string(w) + "-" + std::to_string(i);
          EXPECT_TRUE(mine->append(make_entry(Outcome::kIntent, id)).ok());
        }
      });
    }
  }
  auto all = this->backend_.open()->read_all();
  ASSERT_TRUE(all.ok());
  expect_contiguous(*all, kTotal);
  std::set<std::string> ids;
  for (const auto& e : *all) ids.insert(e.decision.id);
  EXPECT_EQ(ids.size(), kTotal);
}

}  // namespace
}  // namespace dslmodel::journal::suite

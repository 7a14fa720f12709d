#include "journal/etcd_journal.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "etcd/client.h"
#include "etcd_server.h"

namespace dslmodel::journal {
namespace {

using namespace std::chrono_literals;

TimePoint at_ms(std::int64_t ms) { return TimePoint(std::chrono::milliseconds(ms)); }

JournalEntry make_entry(Outcome outcome, const std::string& id, std::int64_t epoch = 0) {
  JournalEntry e;
  e.at = at_ms(1'750'000'000'123);
  e.outcome = outcome;
  e.decision.id = id;
  e.decision.type = "scale_up";
  e.decision.confidence = 0.75;
  e.decision.created_at = at_ms(1'750'000'000'000);
  e.epoch = epoch;
  return e;
}

class EtcdJournalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    etcd_ = testing::EtcdServer::start();
    ASSERT_TRUE(etcd_);
    prefix_ =
        "/dsl-" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name());
  }
  void TearDown() override {
    if (etcd_) etcd_->stop();
  }

  std::shared_ptr<etcd::Client> client() {
    etcd::Options options;
    options.request_timeout = 5000ms;
    options.connect_timeout = 500ms;
    return std::make_shared<etcd::Client>(std::vector<std::string>{etcd_->endpoint()}, options);
  }

  std::unique_ptr<testing::EtcdServer> etcd_;
  std::string prefix_;
};

void expect_contiguous(const std::vector<JournalEntry>& entries, std::size_t n) {
  ASSERT_EQ(entries.size(), n);
  for (std::size_t i = 0; i < entries.size(); ++i) {
    EXPECT_EQ(entries[i].seq, static_cast<std::int64_t>(i + 1)) << "at index " << i;
  }
}

TEST_F(EtcdJournalTest, KeysAreZeroPaddedAndHoldFileJournalsJson) {
  EtcdJournal j(client(), prefix_ + "/");
  JournalEntry executed = make_entry(Outcome::kExecuted, "d1");
  executed.result = "started 3 agents";
  executed.inverse = {{"stop_pids", {101, 102, 103}}};
  ASSERT_TRUE(j.append(make_entry(Outcome::kIntent, "d1")).ok());
  ASSERT_TRUE(j.append(executed).ok());
  auto all = j.read_all();
  ASSERT_TRUE(all.ok()) << all.status().message();
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ(j.corrupt_records(), 0);

  EXPECT_EQ(j.key_for(2), prefix_ + "/journal/00000000000000000002");
  auto kv = client()->range(j.key_for(2));
  ASSERT_TRUE(kv.ok());
  ASSERT_EQ(kv->kvs.size(), 1u);
  auto value = nlohmann::json::parse(kv->kvs[0].value, nullptr, false);
  EXPECT_EQ(value, to_json((*all)[1]));
}

TEST_F(EtcdJournalTest, AppendsAreFencedOnTheLeaderKeysCreateRevision) {
  auto c = client();
  EtcdJournal j(c, prefix_);
  const std::string leader = prefix_ + "/leader";
  EXPECT_EQ(j.leader_key(), leader);
  auto first = c->put(leader, R"({"id":"a"})");
  ASSERT_TRUE(first.ok()) << first.status().message();
  const std::int64_t epoch = *first;  // a new key's create_revision is the put's revision

  auto ok = j.append(make_entry(Outcome::kIntent, "d1", epoch));
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_EQ(*ok, 1);
  // Rewriting the value keeps the create_revision: still the same leadership.
  ASSERT_TRUE(c->put(leader, R"({"id":"a","since":"later"})").ok());
  ASSERT_TRUE(j.append(make_entry(Outcome::kExecuted, "d1", epoch)).ok());

  // Leadership moves: the key is deleted and created again.
  ASSERT_TRUE(c->txn({}, {etcd::TxnOp::del(leader)}).ok());
  auto gone = j.append(make_entry(Outcome::kIntent, "d2", epoch));
  EXPECT_EQ(gone.status().code(), ErrorCode::kConflict);
  auto second = c->put(leader, R"({"id":"b"})");
  ASSERT_TRUE(second.ok());
  ASSERT_GT(*second, epoch);
  auto fenced = j.append(make_entry(Outcome::kIntent, "d2", epoch));
  ASSERT_FALSE(fenced.ok());
  EXPECT_EQ(fenced.status().code(), ErrorCode::kConflict);
  EXPECT_EQ(fenced.status().message(), fmt::format("fenced: leadership lost (epoch {})", epoch));

  auto all = j.read_all();
  ASSERT_TRUE(all.ok());
  expect_contiguous(*all, 2);  // nothing of the fenced appends was written

  // The new leader's epoch writes; epoch 0 writes unfenced.
  auto by_new = j.append(make_entry(Outcome::kIntent, "d3", *second));
  ASSERT_TRUE(by_new.ok()) << by_new.status().message();
  EXPECT_EQ(*by_new, 3);
  ASSERT_TRUE(c->txn({}, {etcd::TxnOp::del(leader)}).ok());
  auto unfenced = j.append(make_entry(Outcome::kIntent, "d4", 0));
  ASSERT_TRUE(unfenced.ok()) << unfenced.status().message();
  EXPECT_EQ(*unfenced, 4);
  all = j.read_all();
  ASSERT_TRUE(all.ok());
  expect_contiguous(*all, 4);
  EXPECT_EQ((*all)[2].epoch, *second);
}

TEST_F(EtcdJournalTest, CorruptAndStrayRecordsAreSkippedAndCounted) {
  auto c = client();
  EtcdJournal j(c, prefix_);
  ASSERT_TRUE(j.append(make_entry(Outcome::kIntent, "d1")).ok());
  ASSERT_TRUE(c->put(j.key_for(2), "{not json").ok());
  ASSERT_TRUE(c->put(j.key_for(3), R"({"seq":3,"outcome":"nonsense"})").ok());
  auto next = j.append(make_entry(Outcome::kIntent, "d4"));
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(*next, 4);
  // A key that is no record key sorts last; the seq still continues from the records.
  ASSERT_TRUE(c->put(prefix_ + "/journal/9-stray", "x").ok());
  next = j.append(make_entry(Outcome::kIntent, "d5"));
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(*next, 5);

  auto all = j.read_all();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].seq, 1);
  EXPECT_EQ((*all)[1].seq, 4);
  EXPECT_EQ((*all)[2].seq, 5);
  EXPECT_EQ(j.corrupt_records(), 3);
}

TEST_F(EtcdJournalTest, ReadAllPagesThroughManyRecords) {
  auto c = client();
  EtcdJournal j(c, prefix_);
  constexpr int kRecords = 2 * static_cast<int>(EtcdJournal::kPageSize) + 17;
  constexpr int kBatch = 100;  // puts per transaction (etcd allows 128)
  for (int start = 1; start <= kRecords; start += kBatch) {
    std::vector<etcd::TxnOp> puts;
    for (int seq = start; seq < start + kBatch && seq <= kRecords; ++seq) {
      JournalEntry e = make_entry(Outcome::kIntent, fmt::format("d{}", seq));
      e.seq = seq;
      puts.push_back(etcd::TxnOp::put(j.key_for(seq), to_json(e).dump()));
    }
    auto r = c->txn({}, puts);
    ASSERT_TRUE(r.ok()) << r.status().message();
  }
  auto all = j.read_all();
  ASSERT_TRUE(all.ok()) << all.status().message();
  expect_contiguous(*all, kRecords);
  EXPECT_EQ(all->back().decision.id, fmt::format("d{}", kRecords));
  auto next = j.append(make_entry(Outcome::kIntent, "last"));
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(*next, kRecords + 1);
}

TEST_F(EtcdJournalTest, EtcdDownIsUnavailableAndLosesNothing) {
  EtcdJournal j(client(), prefix_);
  ASSERT_TRUE(j.append(make_entry(Outcome::kIntent, "d1")).ok());
  etcd_->stop();
  auto down = j.append(make_entry(Outcome::kIntent, "d2"));
  ASSERT_FALSE(down.ok());
  EXPECT_EQ(down.status().code(), ErrorCode::kUnavailable) << down.status().message();
  auto read = j.read_all();
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), ErrorCode::kUnavailable);

  ASSERT_TRUE(etcd_->resume());
  auto again = j.append(make_entry(Outcome::kIntent, "d2"));
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(*again, 2);
  auto all = j.read_all();
  ASSERT_TRUE(all.ok());
  expect_contiguous(*all, 2);
}

}  // namespace
}  // namespace dslmodel::journal

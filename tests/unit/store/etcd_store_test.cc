// EtcdStore against a real etcd: what only etcd has: the key layout, keys that name no record,
// paging at one revision, archive names and the totals key, fencing by the leader key, and etcd
// going away. Every op's round trip and preconditions, and what every backend's snapshot says, are
// store_suite_test.cc.
#include "store/etcd_store.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "dslmodel/time.h"
#include "etcd/client.h"
#include "etcd_server.h"
#include "store/etcd_keys.h"
#include "unit/store/store_fixture.h"

namespace dslmodel::store {
namespace {

using json = nlohmann::json;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

constexpr const char* kClaimed =
    R"({"id": "w1", "status": "claimed", "claimed_by": "agent_a", "claimed_at": "2025-06-27",)"
    R"( "lease_expires": "2025-06-28", "attempts": 1, "prompt": "p", "extra": [1]})";

// A temp directory and a fresh prefix of one etcd shared by the suite, and a fixed clock.
class EtcdStoreTest : public DirStoreTest {
 protected:
  static void SetUpTestSuite() { server_ = dslmodel::testing::EtcdServer::start(); }
  static void TearDownTestSuite() { server_.reset(); }

  void SetUp() override {
    DirStoreTest::SetUp();
    ASSERT_TRUE(server_) << "etcd did not start";
    static std::atomic<int> n{0};
    prefix_ = fmt::format("/store-test-{}-{}", ::getpid(), ++n);
    client_ = std::make_shared<etcd::Client>(std::vector<std::string>{server_->endpoint()});
  }

  EtcdStore estore(const StoreConfig& cfg = {}) {
    return EtcdStore(client_, prefix_, cfg, "etcd://test" + prefix_, &clock_);
  }
  // Writes a record (by its directory name) into etcd.
  void put(const std::string& file, const std::string& text) {
    std::optional<std::string> key = key_for_file(prefix_, file);
    ASSERT_TRUE(key) << file;
    ASSERT_TRUE(client_->put(*key, text).ok());
  }
  // The value of a record by its directory name; nullopt when absent.
  std::optional<std::string> get(const std::string& file) {
    Result<etcd::RangeResult> r = client_->range(key_for_file(prefix_, file).value_or(""));
    EXPECT_TRUE(r.ok()) << r.status().message();
    if (!r.ok() || r->kvs.empty()) return std::nullopt;
    return r->kvs[0].value;
  }
  json doc(const std::string& file) { return json::parse(get(file).value_or("null")); }
  Snapshot esnap(const StoreConfig& cfg = {}) {
    Result<Snapshot> s = estore(cfg).snapshot();
    EXPECT_TRUE(s.ok()) << s.status().message();
    return s.ok() ? *s : Snapshot{};
  }
  RepairOutcome eapply(const std::vector<RepairAction>& actions) {
    Result<RepairOutcome> out = estore().apply(actions);
    EXPECT_TRUE(out.ok()) << out.status().message();
    return out.ok() ? *out : RepairOutcome{};
  }
  // Puts the leader key; returns its create_revision (the leader epoch).
  std::int64_t elect() {
    const std::string leader = etcd_leader_key(prefix_);
    Result<etcd::TxnResult> r = client_->txn({}, {etcd::TxnOp::del(leader)});
    EXPECT_TRUE(r.ok());
    Result<std::int64_t> rev = client_->put(leader, "replica");
    EXPECT_TRUE(rev.ok());
    return rev.ok() ? *rev : 0;
  }

  static std::unique_ptr<dslmodel::testing::EtcdServer> server_;
  std::string prefix_;
  std::shared_ptr<etcd::Client> client_;
};

std::unique_ptr<dslmodel::testing::EtcdServer> EtcdStoreTest::server_;

TEST(EtcdKeysTest, FilesAndKeysMapBothWays) {
  const std::map<std::string, std::string> pairs = {
      {"agent_0.json", "/p/agent/0"},
      {"work_a.b-c_d.json", "/p/work/a.b-c_d"},
      {"completed_7.json", "/p/completed/7"},
      {"telemetry_x.json", "/p/telemetry/x"},
      {"dead_9.json", "/p/dead/9"},
      {"archive/done/work_1.json", "/p/archive/done/work_1.json"},
      {"archive/retried/completed_1.2.json", "/p/archive/retried/completed_1.2.json"}};
  for (const auto& [file, key] : pairs) {
    EXPECT_EQ(key_for_file("/p", file), key) << file;
    EXPECT_EQ(file_for_key("/p", key), file) << key;
  }
  for (const char* bad :
       {"work_.json", "work_a/b.json", "Work_1.json", "work_1.txt", "notes.md",
        "archive/work_1.json", "archive/done/x/work_1.json", "archive//w.json", "leader", ""}) {
    EXPECT_EQ(key_for_file("/p", bad), std::nullopt) << bad;
  }
  for (const char* bad : {"/p/leader", "/p/state/totals", "/p/work/a/b", "/p/work/", "/q/work/1",
                          "/pp/work/1", "/p/other/1", "/p/archive/done"}) {
    EXPECT_EQ(file_for_key("/p", bad), std::nullopt) << bad;
  }
  EXPECT_EQ(etcd_dir_prefix("/p", kEtcdWorkDir), "/p/work/");
  EXPECT_EQ(etcd_totals_key("/p"), "/p/state/totals");
  EXPECT_EQ(etcd_leader_key("/p"), "/p/leader");
  EXPECT_EQ(detail::first_free_archive_name("done", "work_1.json", {}), "archive/done/work_1.json");
  EXPECT_EQ(detail::first_free_archive_name(
                "done", "work_1.json", {"archive/done/work_1.json", "archive/done/work_1.1.json"}),
            "archive/done/work_1.2.json");
}

TEST_F(EtcdStoreTest, SnapshotIgnoresKeysThatNameNoRecord) {
  put("work_1.json", R"({"status": "pending"})");
  ASSERT_TRUE(client_->put(etcd_dir_prefix(prefix_, kEtcdWorkDir) + "nested/x", "{}").ok());
  ASSERT_TRUE(client_->put(etcd_dir_prefix(prefix_, kEtcdWorkDir), "{}").ok());
  ASSERT_TRUE(client_->put(prefix_ + "/leader", "not a record").ok());
  ASSERT_TRUE(client_->put(prefix_ + "/other/1", "{}").ok());
  Snapshot s = esnap();
  ASSERT_EQ(s.work.size(), 1u);
  EXPECT_EQ(s.work[0].file, "work_1.json");
  EXPECT_TRUE(s.rejected.empty());
  EXPECT_TRUE(s.warnings.empty());
  EXPECT_EQ(s.source, "etcd://test" + prefix_);
  EXPECT_EQ(estore().describe(), "etcd://test" + prefix_);
  EXPECT_EQ(estore().state_dir(), "");
}

TEST_F(EtcdStoreTest, SnapshotPagesThroughLargeRangesAtOneRevision) {
  std::vector<etcd::TxnOp> ops;
  for (int i = 0; i < 2050; ++i) {
    ops.push_back(etcd::TxnOp::put(*key_for_file(prefix_, fmt::format("work_{:04}.json", i)),
                                   R"({"status":"pending"})"));
    if (ops.size() == 100 || i == 2049) {
      ASSERT_TRUE(client_->txn({}, ops).ok());
      ops.clear();
    }
  }
  Snapshot s = esnap();
  ASSERT_EQ(s.work.size(), 2050u);
  EXPECT_EQ(s.work.front().file, "work_0000.json");
  EXPECT_EQ(s.work.back().file, "work_2049.json");

  std::int64_t rev = 0;
  Result<std::vector<etcd::KeyValue>> few =
      detail::range_all(*client_, etcd_dir_prefix(prefix_, kEtcdWorkDir), 0, &rev, false, 7);
  ASSERT_TRUE(few.ok());
  ASSERT_EQ(few->size(), 2050u);
  // Reads at `rev` do not see what was written after it.
  ASSERT_TRUE(client_->put(*key_for_file(prefix_, "work_zz.json"), "{}").ok());
  Result<std::vector<etcd::KeyValue>> then =
      detail::range_all(*client_, etcd_dir_prefix(prefix_, kEtcdWorkDir), rev, nullptr, false, 7);
  ASSERT_TRUE(then.ok());
  EXPECT_EQ(then->size(), 2050u);
}

// Archived records go to archive/completed/ and archive/telemetry/ under the first free name, and
// their counts to P/state/totals in the same transaction.
TEST_F(EtcdStoreTest, ArchiveTakesTheFirstFreeNameAndKeepsTotalsInOneKey) {
  for (const fs::directory_entry& e : fs::directory_iterator(kFixture)) {
    std::ifstream in(e.path());
    put(e.path().filename().string(), std::string(std::istreambuf_iterator<char>(in), {}));
  }
  put("completed_9.json", R"({"status": "failed"})");
  put("telemetry_9.json", R"({"resourceSpans": [{"scopeSpans": [{"spans": [{}, {}, {}]}]}]})");
  put("archive/completed/completed_0.json", "{}");  // taken: the next name is .1
  RepairOutcome out = eapply({{RepairOp::kArchive, "completed_0.json", "", "retention"},
                              {RepairOp::kArchive, "completed_9.json", "", "retention"},
                              {RepairOp::kArchive, "telemetry_9.json", "", "retention"}});
  EXPECT_EQ(out.applied, 3);
  ASSERT_EQ(out.inverse.size(), 3u);
  EXPECT_EQ(out.inverse[0]["archived"], "archive/completed/completed_0.1.json");
  EXPECT_EQ(out.inverse[1]["archived"], "archive/completed/completed_9.json");
  EXPECT_EQ(out.inverse[2]["archived"], "archive/telemetry/telemetry_9.json");
  EXPECT_TRUE(get("archive/completed/completed_0.1.json").has_value());
  EXPECT_EQ(get("archive/telemetry/telemetry_9.json"),
            R"({"resourceSpans": [{"scopeSpans": [{"spans": [{}, {}, {}]}]}]})");
  Result<etcd::RangeResult> totals = client_->range(etcd_totals_key(prefix_));
  ASSERT_TRUE(totals.ok() && totals->kvs.size() == 1u);
  EXPECT_EQ(json::parse(totals->kvs[0].value),
            json::parse(R"({"succeeded":1,"failed":1,"telemetry":3})"));

  ASSERT_TRUE(estore().undo(out.inverse).ok());
  EXPECT_EQ(get("archive/completed/completed_0.json"), "{}");
  EXPECT_EQ(get("archive/completed/completed_0.1.json"), std::nullopt);
  totals = client_->range(etcd_totals_key(prefix_));
  ASSERT_TRUE(totals.ok() && totals->kvs.size() == 1u);
  EXPECT_EQ(json::parse(totals->kvs[0].value),
            json::parse(R"({"succeeded":0,"failed":0,"telemetry":0})"));
}

TEST_F(EtcdStoreTest, FencingStopsAnExLeader) {
  put("work_1.json", kClaimed);
  put("work_2.json", kClaimed);
  const std::int64_t epoch = elect();
  ASSERT_GT(epoch, 0);
  EtcdStore store = estore();
  store.set_fencing_epoch(epoch);
  Result<RepairOutcome> out =
      store.apply({{RepairOp::kRequeue, "work_1.json", "", "lease_expired"}});
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(out->applied, 1);

  const std::int64_t next = elect();  // deleted and created again: another leadership
  ASSERT_GT(next, epoch);
  Result<RepairOutcome> fenced =
      store.apply({{RepairOp::kRequeue, "work_2.json", "", "lease_expired"}});
  ASSERT_FALSE(fenced.ok());
  EXPECT_EQ(fenced.status().code(), ErrorCode::kConflict);
  EXPECT_EQ(fenced.status().message(), fmt::format("fenced: leadership lost (epoch {})", epoch));
  EXPECT_EQ(get("work_2.json"), kClaimed);
  Status undo = store.undo(out->inverse);
  EXPECT_EQ(undo.code(), ErrorCode::kConflict);
  EXPECT_THAT(undo.message(), HasSubstr("fenced"));
  EXPECT_EQ(doc("work_1.json")["status"], "pending");

  // Without a leader key at all, fenced too; with the new epoch, it works again.
  ASSERT_TRUE(client_->txn({}, {etcd::TxnOp::del(etcd_leader_key(prefix_))}).ok());
  EXPECT_EQ(store.apply({}).status().code(), ErrorCode::kConflict);
  const std::int64_t third = elect();
  store.set_fencing_epoch(third);
  EXPECT_TRUE(store.undo(out->inverse).ok());
  EXPECT_EQ(get("work_1.json"), kClaimed);
}

TEST_F(EtcdStoreTest, EtcdDownIsUnavailable) {
  std::unique_ptr<dslmodel::testing::EtcdServer> own = dslmodel::testing::EtcdServer::start();
  ASSERT_TRUE(own);
  etcd::Options opt;
  opt.request_timeout = 2s;
  opt.connect_timeout = 500ms;
  auto client = std::make_shared<etcd::Client>(std::vector<std::string>{own->endpoint()}, opt);
  EtcdStore store(client, "/down", {}, own->store_url("down"), &clock_);
  ASSERT_TRUE(client->put("/down/work/1", kClaimed).ok());
  ASSERT_TRUE(store.snapshot().ok());
  own->stop();
  Result<Snapshot> s = store.snapshot();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), ErrorCode::kUnavailable) << s.status().message();
  Result<RepairOutcome> out = store.apply({{RepairOp::kRequeue, "work_1.json", "", "x"}});
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(store.undo(json::array({{{"op", "restore"}, {"file", "work_1.json"}}})).code(),
            ErrorCode::kUnavailable);
  store.set_fencing_epoch(5);
  EXPECT_EQ(store.apply({}).status().code(), ErrorCode::kUnavailable);
  store.set_fencing_epoch(0);
  ASSERT_TRUE(own->resume());
  Result<Snapshot> back = store.snapshot();
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->work.size(), 1u);
  own->stop();
}

}  // namespace
}  // namespace dslmodel::store

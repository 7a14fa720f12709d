// EtcdWorkQueue against a real etcd: the DirWorkQueue behaviours (add, claim, finish, release,
// requeue, show, list, heartbeats, telemetry) over keys, and wait_for_work (woken by another
// client's add, bounded by max_wait, interrupted by stop, and the default of WorkQueue).
#include "store/etcd_work_queue.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <nlohmann/json.hpp>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "dslmodel/time.h"
#include "etcd/client.h"
#include "etcd_server.h"
#include "store/dir_work_queue.h"
#include "store/etcd_keys.h"
#include "store/etcd_store.h"
#include "unit/store/store_fixture.h"

namespace dslmodel::store {
namespace {

using json = nlohmann::json;
using ::testing::HasSubstr;
using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;

class EtcdWorkQueueTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = dslmodel::testing::EtcdServer::start(); }
  static void TearDownTestSuite() { server_.reset(); }

  void SetUp() override {
    ASSERT_TRUE(server_) << "etcd did not start";
    static std::atomic<int> n{0};
    prefix_ = fmt::format("/queue-test-{}-{}", ::getpid(), ++n);
    client_ = std::make_shared<etcd::Client>(std::vector<std::string>{server_->endpoint()});
  }

  // A queue on the fake clock; tests of the exact claim order set its claim spread to 1.
  EtcdWorkQueue queue() { return EtcdWorkQueue(client_, prefix_, {}, &clock_); }
  std::string add(EtcdWorkQueue& q, std::string id, std::int64_t priority = 0,
                  std::int64_t max_attempts = 3) {
    NewWork w;
    w.id = std::move(id);
    w.command = {"true"};
    w.priority = priority;
    w.max_attempts = max_attempts;
    Result<std::string> r = q.add(w);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? *r : "";
  }
  WorkItem claim(EtcdWorkQueue& q, const std::string& agent = "a1") {
    Result<std::optional<WorkItem>> r = q.claim_next(agent, 60s);
    EXPECT_TRUE(r.ok()) << r.status().message();
    EXPECT_TRUE(r.ok() && r->has_value());
    return r.ok() && r->has_value() ? **r : WorkItem{};
  }
  void put(const std::string& file, const std::string& text) {
    ASSERT_TRUE(client_->put(key_for_file(prefix_, file).value_or("/bad"), text).ok()) << file;
  }
  std::optional<std::string> get(const std::string& file) {
    Result<etcd::RangeResult> r = client_->range(key_for_file(prefix_, file).value_or("/bad"));
    EXPECT_TRUE(r.ok());
    if (!r.ok() || r->kvs.empty()) return std::nullopt;
    return r->kvs[0].value;
  }
  bool has(const std::string& file) { return get(file).has_value(); }
  json doc(const std::string& file) { return json::parse(get(file).value_or("null")); }
  void del(const std::string& file) {
    ASSERT_TRUE(client_->txn({}, {etcd::TxnOp::del(*key_for_file(prefix_, file))}).ok());
  }
  Snapshot snap() {
    Result<Snapshot> s = EtcdStore(client_, prefix_, {}, "", &clock_).snapshot();
    EXPECT_TRUE(s.ok()) << s.status().message();
    return s.ok() ? *s : Snapshot{};
  }
  static Completion ok_run() { return {true, 0, 5, "done\n", ""}; }
  static Completion bad_run() { return {false, 2, 7, "oops\n", "exit code 2"}; }

  static std::unique_ptr<dslmodel::testing::EtcdServer> server_;
  std::string prefix_;
  std::shared_ptr<etcd::Client> client_;
  FakeClock clock_;
};

std::unique_ptr<dslmodel::testing::EtcdServer> EtcdWorkQueueTest::server_;

TEST_F(EtcdWorkQueueTest, AddWritesAPendingItem) {
  EtcdWorkQueue q = queue();
  NewWork w;
  w.command = {"echo", "a b", "$(x); y"};
  w.priority = 4;
  w.max_attempts = 2;
  w.timeout = 30s;
  Result<std::string> id = q.add(w);
  ASSERT_TRUE(id.ok()) << id.status().message();
  EXPECT_THAT(*id, ::testing::MatchesRegex("[0-9]+-[0-9a-f]{6}"));
  EXPECT_EQ(get("work_" + *id + ".json"),
            fmt::format(R"({{"id":"{}","status":"pending","priority":4,)"
                        R"("created":"2025-07-01T12:00:00.000Z","attempts":0,"max_attempts":2,)"
                        R"("timeout_s":30,"command":["echo","a b","$(x); y"]}})",
                        *id));
  NewWork p;
  p.id = "p.1_x-y";
  p.prompt = "summarize";
  ASSERT_TRUE(q.add(p).ok());
  EXPECT_EQ(doc("work_p.1_x-y.json")["prompt"], "summarize");
  EXPECT_FALSE(doc("work_p.1_x-y.json").contains("command"));
}

TEST_F(EtcdWorkQueueTest, AddRejectsBadInputAndExistingIds) {
  EtcdWorkQueue q = queue();
  NewWork none;
  EXPECT_EQ(q.add(none).status().code(), ErrorCode::kInvalidArgument);
  NewWork both;
  both.command = {"true"};
  both.prompt = "p";
  EXPECT_EQ(q.add(both).status().code(), ErrorCode::kInvalidArgument);
  for (const std::string& bad :
       std::vector<std::string>{"../x", "a/b", "a b", ".", "..", std::string(129, 'a'), "é"}) {
    NewWork w;
    w.id = bad;
    w.command = {"true"};
    EXPECT_EQ(q.add(w).status().code(), ErrorCode::kInvalidArgument) << bad;
  }
  NewWork zero;
  zero.command = {"true"};
  zero.max_attempts = 0;
  EXPECT_EQ(q.add(zero).status().code(), ErrorCode::kInvalidArgument);
  Result<std::vector<WorkItem>> all = q.list("");
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->empty());

  add(q, "dup");
  NewWork dup;
  dup.id = "dup";
  dup.prompt = "again";
  Result<std::string> r = q.add(dup);
  EXPECT_EQ(r.status().code(), ErrorCode::kConflict);
  EXPECT_THAT(r.status().message(), HasSubstr("\"dup\" already exists"));
  EXPECT_EQ(doc("work_dup.json")["command"], json::array({"true"}));

  put("completed_done.json", R"({"status":"completed"})");
  put("dead_gone.json", R"({"status":"dead"})");
  for (const char* id : {"done", "gone"}) {
    NewWork again;
    again.id = id;
    again.prompt = "x";
    Result<std::string> exists = q.add(again);
    EXPECT_EQ(exists.status().code(), ErrorCode::kConflict) << id;
    EXPECT_FALSE(has(std::string("work_") + id + ".json"));
  }
}

TEST_F(EtcdWorkQueueTest, ClaimSpreadStaysAmongTheBestCandidates) {
  EtcdWorkQueue q = queue();
  for (int i = 0; i < 20; ++i) add(q, fmt::format("{:02}", i), 20 - i);
  q.set_claim_spread(4);
  for (int n = 0; n < 20; ++n) {
    WorkItem w = claim(q);
    // The n-th claim never takes an item more than 3 places behind the best one left.
    EXPECT_LT(std::stoi(w.id), n + 4) << n;
  }
  EXPECT_TRUE(q.list("pending")->empty());
}

TEST_F(EtcdWorkQueueTest, ClaimedItemCarriesItsPayload) {
  put("work_cmd.json", R"({"status":"pending","command":"rm -rf /; echo","timeout_s":2.5})");
  EtcdWorkQueue q = queue();
  WorkItem w = claim(q);
  EXPECT_EQ(w.id, "cmd");
  EXPECT_EQ(w.file, "work_cmd.json");
  EXPECT_EQ(w.status, "claimed");
  EXPECT_TRUE(w.command_invalid);
  EXPECT_EQ(w.timeout, Seconds(3));
  EXPECT_EQ(w.claimed_by, "a1");
  EXPECT_EQ(w.raw["claimed_by"], "a1");
  add(q, "p");
  WorkItem p = claim(q);
  EXPECT_EQ(p.command, std::vector<std::string>{"true"});
  EXPECT_EQ(q.claim_next("bad/agent", 60s).status().code(), ErrorCode::kInvalidArgument);
}

TEST_F(EtcdWorkQueueTest, ClaimSeesItemsAddedElsewhereOnceTheCacheIsUsedUp) {
  EtcdWorkQueue q = queue();
  q.set_claim_spread(1);
  EtcdWorkQueue other = queue();
  add(q, "1");
  add(q, "2");
  EXPECT_EQ(claim(q).id, "1");      // lists 1 and 2
  add(other, "0", /*priority=*/5);  // unseen until the cache is used up (fake clock never ages it)
  EXPECT_EQ(claim(q).id, "2");
  EXPECT_EQ(claim(q).id, "0");

  q.set_candidate_max_age(0ms);
  add(q, "3");
  add(other, "4", /*priority=*/5);
  EXPECT_EQ(claim(q).id, "4");
}

TEST_F(EtcdWorkQueueTest, ClaimOfACachedItemChangedSinceStillWorks) {
  EtcdWorkQueue q = queue();
  q.set_claim_spread(1);
  EtcdWorkQueue other = queue();
  add(q, "1");
  add(q, "2");
  EXPECT_EQ(claim(q).id, "1");  // caches item 2 with its revision
  WorkItem taken = claim(other);
  EXPECT_EQ(taken.id, "2");
  ASSERT_TRUE(other.release(taken, "a1").ok());  // pending again, at a newer revision
  EXPECT_EQ(claim(q, "a2").id, "2");
  EXPECT_EQ(doc("work_2.json")["claimed_by"], "a2");
}

TEST_F(EtcdWorkQueueTest, FinishSuccessWritesOneCompletionAndArchivesTheWork) {
  EtcdWorkQueue q = queue();
  add(q, "w1", /*priority=*/2);
  WorkItem w = claim(q);
  const std::string claimed_text = *get("work_w1.json");
  Result<FinishOutcome> r = q.finish(w, "a1", ok_run());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, FinishOutcome::kCompleted);
  EXPECT_FALSE(has("work_w1.json"));
  EXPECT_EQ(get("archive/done/work_w1.json"), claimed_text);
  json c = doc("completed_w1.json");
  EXPECT_EQ(c["id"], "w1");
  EXPECT_EQ(c["status"], "completed");
  EXPECT_EQ(c["result"], "done\n");
  EXPECT_EQ(c["exit_code"], 0);
  EXPECT_EQ(c["duration_ms"], 5);
  EXPECT_EQ(c["agent"], "a1");
  EXPECT_EQ(c["finished"], "2025-07-01T12:00:00.000Z");
  EXPECT_EQ(c["attempts"], 1);
  EXPECT_EQ(c["max_attempts"], 3);
  EXPECT_EQ(c["command"], json::array({"true"}));
  EXPECT_EQ(c["priority"], 2);

  Snapshot s = snap();
  EXPECT_TRUE(s.work.empty());
  ASSERT_EQ(s.completed.size(), 1u);
  EXPECT_EQ(s.completed[0].status, "completed");
  EXPECT_TRUE(s.rejected.empty());

  Result<FinishOutcome> again = q.finish(w, "a1", ok_run());
  EXPECT_EQ(again.status().code(), ErrorCode::kConflict);
  EXPECT_THAT(again.status().message(), HasSubstr("no longer queued"));
}

TEST_F(EtcdWorkQueueTest, FinishFailureRetriesThenFailsForGood) {
  EtcdWorkQueue q = queue();
  add(q, "w1", 0, /*max_attempts=*/2);
  WorkItem w = claim(q);
  Result<FinishOutcome> r = q.finish(w, "a1", bad_run());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, FinishOutcome::kRetrying);
  json d = doc("work_w1.json");
  EXPECT_EQ(d["status"], "pending");
  EXPECT_EQ(d["attempts"], 1);
  EXPECT_EQ(d["last_error"], "exit code 2");
  EXPECT_FALSE(d.contains("claimed_by"));
  EXPECT_FALSE(d.contains("lease_expires"));
  EXPECT_FALSE(has("completed_w1.json"));

  WorkItem again = claim(q);
  EXPECT_EQ(again.attempts, 1);
  r = q.finish(again, "a1", bad_run());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, FinishOutcome::kFailed);
  EXPECT_FALSE(has("work_w1.json"));
  EXPECT_TRUE(has("archive/done/work_w1.json"));
  json c = doc("completed_w1.json");
  EXPECT_EQ(c["status"], "failed");
  EXPECT_EQ(c["error"], "exit code 2");
  EXPECT_EQ(c["output"], "oops\n");
  EXPECT_EQ(c["attempts"], 2);
  EXPECT_EQ(c["max_attempts"], 2);
  Snapshot s = snap();
  ASSERT_EQ(s.completed.size(), 1u);
  EXPECT_FALSE(s.completed[0].retryable);
  EXPECT_TRUE(s.work.empty());
}

TEST_F(EtcdWorkQueueTest, FinishMovesAStaleFailureAside) {
  EtcdWorkQueue q = queue();
  add(q, "w1");
  WorkItem w = claim(q);
  put("completed_w1.json", R"({"id":"w1","status":"failed","agent":"old"})");
  Result<FinishOutcome> r = q.finish(w, "a1", ok_run());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, FinishOutcome::kCompleted);
  EXPECT_EQ(doc("completed_w1.json")["agent"], "a1");
  EXPECT_EQ(doc("archive/retried/completed_w1.json")["agent"], "old");
}

TEST_F(EtcdWorkQueueTest, ArchiveNamesNeverCollide) {
  EtcdWorkQueue q = queue();
  for (int round = 0; round < 3; ++round) {
    add(q, "w1");
    ASSERT_TRUE(q.finish(claim(q), "a1", ok_run()).ok());
    del("completed_w1.json");
  }
  EXPECT_TRUE(has("archive/done/work_w1.json"));
  EXPECT_TRUE(has("archive/done/work_w1.1.json"));
  EXPECT_TRUE(has("archive/done/work_w1.2.json"));
}

TEST_F(EtcdWorkQueueTest, HeartbeatAndTelemetry) {
  EtcdWorkQueue q = queue();
  AgentState a;
  a.id = "a1";
  a.status = "busy";
  a.pid = 42;
  a.host = "h";
  a.current_work = "w1";
  a.created = *parse_iso8601("2025-07-01T11:00:00Z");
  ASSERT_TRUE(q.heartbeat(a).ok());
  EXPECT_EQ(doc("agent_a1.json"), json::parse(R"({"id":"a1","status":"busy",
      "heartbeat":"2025-07-01T12:00:00.000Z","pid":42,"host":"h","current_work":"w1",
      "created":"2025-07-01T11:00:00.000Z"})"));
  a.status = "idle";
  a.current_work.clear();
  ASSERT_TRUE(q.heartbeat(a).ok());
  EXPECT_FALSE(doc("agent_a1.json").contains("current_work"));
  a.id = "../a";
  EXPECT_EQ(q.heartbeat(a).code(), ErrorCode::kInvalidArgument);

  ASSERT_TRUE(q.record_telemetry("t1", {{"duration_ms", 3}}).ok());
  EXPECT_EQ(doc("telemetry_t1.json"),
            json::parse(R"({"id":"t1","timestamp":"2025-07-01T12:00:00.000Z",
                             "metrics":{"duration_ms":3}})"));
  EXPECT_EQ(q.record_telemetry("t2", json::array()).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(q.record_telemetry("", json::object()).code(), ErrorCode::kInvalidArgument);

  Snapshot s = snap();
  ASSERT_EQ(s.agents.size(), 1u);
  EXPECT_EQ(s.agents[0].status, "idle");
  EXPECT_EQ(s.agents[0].pid, 42);
  ASSERT_EQ(s.telemetry.size(), 1u);
  EXPECT_TRUE(s.rejected.empty());
}

TEST_F(EtcdWorkQueueTest, ListOrdersAndFilters) {
  put("work_a.json", R"({"status":"pending","priority":1,"prompt":"x"})");
  put("work_b.json", R"({"status":"Claimed","priority":5,"claimed_by":"z"})");
  put("work_c.json", R"({"priority":3,"command":["ls","-l"]})");
  put("work_d.json", "[1]");
  put("dead_e.json", R"({"status":"dead"})");
  EtcdWorkQueue q = queue();
  Result<std::vector<WorkItem>> all = q.list("");
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].id, "b");
  EXPECT_EQ((*all)[1].id, "c");
  EXPECT_EQ((*all)[1].command, (std::vector<std::string>{"ls", "-l"}));
  EXPECT_EQ((*all)[2].prompt, "x");
  Result<std::vector<WorkItem>> pending = q.list("PENDING");
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 2u);
  EXPECT_EQ((*pending)[0].id, "c");
  Result<std::vector<WorkItem>> claimed = q.list("claimed");
  ASSERT_TRUE(claimed.ok());
  ASSERT_EQ(claimed->size(), 1u);
  EXPECT_EQ((*claimed)[0].raw["claimed_by"], "z");
}

TEST_F(EtcdWorkQueueTest, ShowFindsTheItemWhereverItIs) {
  EtcdWorkQueue q = queue();
  add(q, "q1");
  Result<json> s = q.show("q1");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ((*s)["location"], "queue");
  EXPECT_EQ((*s)["status"], "pending");

  ASSERT_TRUE(q.finish(claim(q), "a1", ok_run()).ok());
  s = q.show("q1");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ((*s)["location"], "completed");
  EXPECT_EQ((*s)["result"], "done\n");
  del("completed_q1.json");
  s = q.show("q1");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ((*s)["location"], "archive");

  put("dead_d1.json", R"({"status":"dead"})");
  EXPECT_EQ((*q.show("d1"))["location"], "dead");
  put("work_bad.json", "nope");
  EXPECT_EQ(q.show("bad").status().code(), ErrorCode::kCorrupt);
  EXPECT_EQ(q.show("none").status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(q.show("../x").status().code(), ErrorCode::kInvalidArgument);
}

TEST_F(EtcdWorkQueueTest, RequeueFromEveryPlace) {
  EtcdWorkQueue q = queue();
  q.set_claim_spread(1);
  put("work_c.json", R"({"status":"claimed","claimed_by":"z","attempts":2,"prompt":"p"})");
  ASSERT_TRUE(q.requeue("c").ok());
  json d = doc("work_c.json");
  EXPECT_EQ(d["status"], "pending");
  EXPECT_EQ(d["attempts"], 0);
  EXPECT_FALSE(d.contains("claimed_by"));
  const std::string before = *get("work_c.json");
  ASSERT_TRUE(q.requeue("c").ok());  // pending with no attempts: no write
  EXPECT_EQ(get("work_c.json"), before);

  put("dead_d.json", R"({"status":"dead","dead_reason":"max_attempts","attempts":3,
                         "command":["x"]})");
  ASSERT_TRUE(q.requeue("d").ok());
  EXPECT_FALSE(has("dead_d.json"));
  d = doc("work_d.json");
  EXPECT_EQ(d["status"], "pending");
  EXPECT_EQ(d["attempts"], 0);
  EXPECT_FALSE(d.contains("dead_reason"));
  EXPECT_EQ(d["command"], json::array({"x"}));

  const std::string failed = R"({"id":"f","status":"failed","attempts":3,"max_attempts":3,
                                 "priority":4,"command":["y"],"error":"e"})";
  put("completed_f.json", failed);
  ASSERT_TRUE(q.requeue("f").ok());
  EXPECT_FALSE(has("completed_f.json"));
  EXPECT_EQ(get("archive/retried/completed_f.json"), failed);
  d = doc("work_f.json");
  EXPECT_EQ(d["status"], "pending");
  EXPECT_EQ(d["attempts"], 0);
  EXPECT_EQ(d["max_attempts"], 3);
  EXPECT_EQ(d["priority"], 4);
  EXPECT_EQ(d["retry_of"], "completed_f.json");
  EXPECT_EQ(claim(q).id, "f");
}

TEST_F(EtcdWorkQueueTest, WaitForWorkSeesAnAddMadeAfterTheLastRead) {
  EtcdWorkQueue q = queue();
  ASSERT_TRUE(q.list("").ok());  // the revision it waits from
  auto other_client = std::make_shared<etcd::Client>(std::vector<std::string>{server_->endpoint()});
  EtcdWorkQueue other(other_client, prefix_, {}, &clock_);
  add(other, "late");
  const auto start = Steady::now();
  q.wait_for_work(30s, {});
  EXPECT_LT(Steady::now() - start, 15s);
  EXPECT_EQ(claim(q).id, "late");
}

TEST_F(EtcdWorkQueueTest, WaitForWorkWakesOnAnAddFromAnotherClient) {
  EtcdWorkQueue q = queue();
  Result<std::optional<WorkItem>> none = q.claim_next("a1", 60s);
  ASSERT_TRUE(none.ok() && !none->has_value());
  std::atomic<bool> woke{false};
  const auto start = Steady::now();
  std::thread waiter([&] {
    q.wait_for_work(30s, {});
    woke = true;
  });
  // Claims by others are not work: only a pending item wakes the waiter.
  auto other_client = std::make_shared<etcd::Client>(std::vector<std::string>{server_->endpoint()});
  EtcdWorkQueue other(other_client, prefix_, {}, &clock_);
  put("work_busy.json", R"({"status":"claimed","claimed_by":"z"})");
  add(other, "new");
  waiter.join();
  EXPECT_TRUE(woke);
  EXPECT_LT(Steady::now() - start, 15s);
  EXPECT_EQ(claim(q).id, "new");
}

TEST_F(EtcdWorkQueueTest, WaitForWorkHonoursMaxWaitAndStop) {
  EtcdWorkQueue q = queue();
  ASSERT_TRUE(q.list("").ok());
  auto start = Steady::now();
  q.wait_for_work(300ms, {});
  EXPECT_GE(Steady::now() - start, 250ms);
  EXPECT_LT(Steady::now() - start, 15s);

  std::stop_source stop;
  start = Steady::now();
  std::thread waiter([&] { q.wait_for_work(60s, stop.get_token()); });
  stop.request_stop();
  waiter.join();
  EXPECT_LT(Steady::now() - start, 15s);
  start = Steady::now();
  q.wait_for_work(60s, stop.get_token());  // already stopped
  EXPECT_LT(Steady::now() - start, 5s);
}

TEST_F(EtcdWorkQueueTest, WaitForWorkFallsBackToWaitingWhenEtcdIsDown) {
  std::unique_ptr<dslmodel::testing::EtcdServer> own = dslmodel::testing::EtcdServer::start();
  ASSERT_TRUE(own);
  etcd::Options opt;
  opt.request_timeout = 2s;
  opt.connect_timeout = 500ms;
  auto client = std::make_shared<etcd::Client>(std::vector<std::string>{own->endpoint()}, opt);
  EtcdWorkQueue q(client, "/down", {}, &clock_);
  own->stop();
  EXPECT_EQ(q.claim_next("a1", 60s).status().code(), ErrorCode::kUnavailable);
  NewWork w;
  w.command = {"true"};
  EXPECT_EQ(q.add(w).status().code(), ErrorCode::kUnavailable);
  const auto start = Steady::now();
  q.wait_for_work(1s, {});
  EXPECT_GE(Steady::now() - start, 900ms);
  EXPECT_LT(Steady::now() - start, 15s);
  std::stop_source stop;
  std::thread waiter([&] { q.wait_for_work(60s, stop.get_token()); });
  stop.request_stop();
  waiter.join();
}

TEST(WorkQueueDefaultWaitTest, SleepsInterruptibly) {
  std::string tmpl = (fs::path(::testing::TempDir()) / "wait_XXXXXX").string();
  ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
  DirWorkQueue q{fs::path(tmpl)};
  auto start = Steady::now();
  q.wait_for_work(200ms, {});
  EXPECT_GE(Steady::now() - start, 190ms);
  std::stop_source stop;
  start = Steady::now();
  std::thread waiter([&] { q.wait_for_work(60s, stop.get_token()); });
  stop.request_stop();
  waiter.join();
  EXPECT_LT(Steady::now() - start, 15s);
  fs::remove_all(tmpl);
}

}  // namespace
}  // namespace dslmodel::store

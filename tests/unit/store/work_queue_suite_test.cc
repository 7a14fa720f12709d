// The WorkQueue contract (include/dslmodel/work_queue.h), run over every backend.
//
// Each case is written once against the interface; backend_fixtures.h gives each backend an
// empty queue and a way to seed and read raw records. A third backend is a new fixture there and
// one more entry in its Backends list, nothing else (docs/testing.md, "Interface suites"). What
// only one backend has (file names and permissions, striped locks, claim spreading, watches, key
// layout) stays in dir_work_queue_test.cc and etcd_work_queue_test.cc.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "unit/store/backend_fixtures.h"

namespace dslmodel::store::suite {
namespace {

using json = nlohmann::json;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

Completion ok_run() { return {true, 0, 5, "done\n", ""}; }
Completion bad_run() { return {false, 2, 7, "oops\n", "exit code 2"}; }

template <typename Fixture>
class WorkQueueSuite : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string why = backend_.unavailable(); !why.empty()) GTEST_SKIP() << why;
  }

  // Adds a `true` command item; returns its id ("" after a failed expectation).
  std::string add(WorkQueue& q, std::string id, std::int64_t priority = 0,
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
  // Claims the next item for `agent`, expecting one.
  WorkItem claim(WorkQueue& q, const std::string& agent = "a1") {
    Result<std::optional<WorkItem>> r = q.claim_next(agent, 60s);
    EXPECT_TRUE(r.ok()) << r.status().message();
    EXPECT_TRUE(r.ok() && r->has_value());
    return r.ok() && r->has_value() ? **r : WorkItem{};
  }
  json doc(const std::string& file) {
    return json::parse(backend_.raw(file).value_or("null"), nullptr, false);
  }
  bool has(const std::string& file) { return backend_.raw(file).has_value(); }
  // The item as show() returns it, location included (null after a failed expectation).
  json shown(WorkQueue& q, const std::string& id) {
    Result<json> r = q.show(id);
    EXPECT_TRUE(r.ok()) << id << ": " << r.status().message();
    return r.ok() ? *r : json();
  }
  // What the backend's CoordinationStore reads of the same records.
  Snapshot snap() {
    Result<Snapshot> s = backend_.snapshot();
    EXPECT_TRUE(s.ok()) << s.status().message();
    return s.ok() ? *s : Snapshot{};
  }

  Fixture backend_;
};

TYPED_TEST_SUITE(WorkQueueSuite, Backends, BackendName);

TYPED_TEST(WorkQueueSuite, ClaimTakesHighestPriorityThenOldest) {
  auto& b = this->backend_;
  b.seed("work_old.json", R"({"status":"pending","priority":1,"created":"2025-06-01T00:00:00Z"})");
  b.seed("work_new.json", R"({"status":"pending","priority":1,"created":"2025-06-02T00:00:00Z"})");
  b.seed("work_hi.json", R"({"priority":9,"command":["x"]})");  // no status: pending
  b.seed("work_taken.json", R"({"status":"claimed","priority":99,"claimed_by":"z"})");
  b.seed("work_bad.json", "{");
  b.seed("work_cmd.json", R"({"status":"pending","priority":-5,"command":"rm -rf /; echo"})");
  auto q = b.queue();
  std::vector<std::string> order(4);
  for (std::string& id : order) id = this->claim(*q).id;
  EXPECT_EQ(order, (std::vector<std::string>{"hi", "old", "new", "cmd"}));
  Result<std::optional<WorkItem>> none = q->claim_next("a1", 60s);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());

  json d = this->doc("work_hi.json");
  EXPECT_EQ(d["status"], "claimed");
  EXPECT_EQ(d["claimed_by"], "a1");
  EXPECT_EQ(d["claimed_at"], "2025-07-01T12:00:00.000Z");
  EXPECT_EQ(d["lease_expires"], "2025-07-01T12:01:00.000Z");
  EXPECT_EQ(d["command"], json::array({"x"}));
  EXPECT_EQ(this->doc("work_taken.json")["claimed_by"], "z");
}

TYPED_TEST(WorkQueueSuite, FinishAndReleaseRequireTheClaim) {
  auto q = this->backend_.queue();
  this->add(*q, "w1");
  WorkItem w = this->claim(*q);
  EXPECT_EQ(q->finish(w, "a2", ok_run()).status().code(), ErrorCode::kConflict);
  EXPECT_EQ(q->release(w, "a2").code(), ErrorCode::kConflict);
  EXPECT_FALSE(this->has("completed_w1.json"));

  // Requeued and claimed again by the same agent: the old claim is not the new one.
  ASSERT_TRUE(q->requeue("w1").ok());
  WorkItem stale = w;
  stale.raw["claimed_at"] = "2025-07-01T11:00:00.000Z";
  this->backend_.seed("work_w1.json", json{{"status", "claimed"},
                                           {"claimed_by", "a1"},
                                           {"claimed_at", "2025-07-01T12:00:00.000Z"},
                                           {"command", {"true"}}}
                                          .dump());
  Result<FinishOutcome> r = q->finish(stale, "a1", ok_run());
  EXPECT_EQ(r.status().code(), ErrorCode::kConflict);
  EXPECT_THAT(r.status().message(), HasSubstr("claimed again"));
  EXPECT_FALSE(this->has("completed_w1.json"));

  WorkItem bad;
  bad.id = "../x";
  EXPECT_EQ(q->finish(bad, "a1", ok_run()).status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(q->release(bad, "a1").code(), ErrorCode::kInvalidArgument);
  WorkItem gone;
  gone.id = "gone";
  EXPECT_EQ(q->release(gone, "a1").code(), ErrorCode::kConflict);
}

TYPED_TEST(WorkQueueSuite, ReleaseKeepsAttempts) {
  auto q = this->backend_.queue();
  this->backend_.seed("work_w1.json", R"({"status":"pending","attempts":1,"prompt":"p","x":[1]})");
  WorkItem w = this->claim(*q);
  ASSERT_TRUE(q->release(w, "a1").ok());
  json d = this->doc("work_w1.json");
  EXPECT_EQ(d["status"], "pending");
  EXPECT_EQ(d["attempts"], 1);
  EXPECT_FALSE(d.contains("claimed_by"));
  EXPECT_FALSE(d.contains("claimed_at"));
  EXPECT_EQ(d["x"], json::array({1}));
  EXPECT_EQ(this->claim(*q).id, "w1");
}

TYPED_TEST(WorkQueueSuite, FinishNeverWritesASecondCompletion) {
  auto q = this->backend_.queue();
  this->add(*q, "w1");
  WorkItem w = this->claim(*q);
  this->backend_.seed("completed_w1.json", R"({"id":"w1","status":"completed","agent":"old"})");
  Result<FinishOutcome> r = q->finish(w, "a1", ok_run());
  EXPECT_EQ(r.status().code(), ErrorCode::kConflict);
  EXPECT_THAT(r.status().message(), HasSubstr("already completed"));
  EXPECT_EQ(this->doc("completed_w1.json")["agent"], "old");
  EXPECT_FALSE(this->has("work_w1.json"));  // archived: the item ran
  EXPECT_TRUE(this->has("archive/done/work_w1.json"));
}

TYPED_TEST(WorkQueueSuite, RequeueErrors) {
  auto& b = this->backend_;
  auto q = b.queue();
  b.seed("completed_s.json", R"({"status":"completed","command":["x"]})");
  b.seed("completed_n.json", R"({"status":"failed"})");
  EXPECT_EQ(q->requeue("s").code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(q->requeue("n").code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(q->requeue("none").code(), ErrorCode::kNotFound);
  EXPECT_EQ(q->requeue("a/b").code(), ErrorCode::kInvalidArgument);
  b.seed("work_c.json", R"({"status":"claimed","claimed_by":"z"})");
  b.seed("completed_c.json", R"({"status":"completed"})");
  EXPECT_EQ(q->requeue("c").code(), ErrorCode::kConflict);
  EXPECT_EQ(this->doc("work_c.json")["status"], "claimed");
}

TYPED_TEST(WorkQueueSuite, AddWritesAPendingItem) {
  auto q = this->backend_.queue();
  NewWork w;
  w.command = {"echo", "a b", "$(x); y"};
  w.priority = 4;
  w.max_attempts = 2;
  w.timeout = 30s;
  Result<std::string> id = q->add(w);
  ASSERT_TRUE(id.ok()) << id.status().message();
  EXPECT_THAT(*id, ::testing::MatchesRegex("[0-9]+-[0-9a-f]{6}"));
  const json want = json::parse(R"({"status":"pending","priority":4,
      "created":"2025-07-01T12:00:00.000Z","attempts":0,"max_attempts":2,"timeout_s":30,
      "command":["echo","a b","$(x); y"]})");
  json d = this->shown(*q, *id);
  EXPECT_EQ(d["location"], "queue");
  d.erase("location");
  json with_id = want;
  with_id["id"] = *id;
  EXPECT_EQ(d, with_id);
  // The record as stored, byte for byte: the same text in every backend.
  EXPECT_EQ(
      this->backend_.raw("work_" + *id + ".json"),
      R"({"id":")" + *id +
          R"(","status":"pending","priority":4,"created":"2025-07-01T12:00:00.000Z",)"
          R"("attempts":0,"max_attempts":2,"timeout_s":30,"command":["echo","a b","$(x); y"]})");
  Result<std::vector<WorkItem>> listed = q->list("");
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].id, *id);

  NewWork p;
  p.id = "p.1_x-y";
  p.prompt = "summarize";
  ASSERT_TRUE(q->add(p).ok());
  json pd = this->shown(*q, "p.1_x-y");
  EXPECT_EQ(pd["prompt"], "summarize");
  EXPECT_FALSE(pd.contains("command"));
}

TYPED_TEST(WorkQueueSuite, AddRejectsBadInputAndExistingIds) {
  auto q = this->backend_.queue();
  NewWork none;
  EXPECT_EQ(q->add(none).status().code(), ErrorCode::kInvalidArgument);
  NewWork both;
  both.command = {"true"};
  both.prompt = "p";
  EXPECT_EQ(q->add(both).status().code(), ErrorCode::kInvalidArgument);
  for (const std::string& bad :
       std::vector<std::string>{"../x", "a/b", "a b", ".", "..", std::string(129, 'a'), "é"}) {
    NewWork w;
    w.id = bad;
    w.command = {"true"};
    EXPECT_EQ(q->add(w).status().code(), ErrorCode::kInvalidArgument) << bad;
  }
  NewWork zero;
  zero.command = {"true"};
  zero.max_attempts = 0;
  EXPECT_EQ(q->add(zero).status().code(), ErrorCode::kInvalidArgument);
  EXPECT_TRUE(this->snap().work.empty());

  this->add(*q, "dup");
  NewWork dup;
  dup.id = "dup";
  dup.prompt = "again";
  Result<std::string> r = q->add(dup);
  EXPECT_EQ(r.status().code(), ErrorCode::kConflict);
  EXPECT_THAT(r.status().message(), HasSubstr("\"dup\" already exists"));
  EXPECT_EQ(this->doc("work_dup.json")["command"], json::array({"true"}));

  // An item that ran or was given up is never queued again under its id; an archived one may be.
  this->backend_.seed("completed_done.json", R"({"status":"completed"})");
  this->backend_.seed("dead_gone.json", R"({"status":"dead"})");
  this->backend_.seed("archive/done/completed_old.json", R"({"status":"completed"})");
  for (const char* id : {"done", "gone"}) {
    NewWork again;
    again.id = id;
    again.prompt = "x";
    Result<std::string> exists = q->add(again);
    EXPECT_EQ(exists.status().code(), ErrorCode::kConflict) << id;
    EXPECT_FALSE(this->has(std::string("work_") + id + ".json"));
  }
  EXPECT_EQ(this->add(*q, "old"), "old");
}

TYPED_TEST(WorkQueueSuite, ClaimedItemCarriesItsPayload) {
  this->backend_.seed("work_cmd.json",
                      R"({"status":"pending","command":"rm -rf /; echo","timeout_s":2.5})");
  auto q = this->backend_.queue();
  WorkItem w = this->claim(*q);
  EXPECT_EQ(w.id, "cmd");
  EXPECT_EQ(w.file, "work_cmd.json");
  EXPECT_EQ(w.status, "claimed");
  EXPECT_TRUE(w.command_invalid);
  EXPECT_TRUE(w.command.empty());
  EXPECT_EQ(w.timeout, Seconds(3));
  EXPECT_EQ(w.max_attempts, 3);
  EXPECT_EQ(w.claimed_by, "a1");
  EXPECT_EQ(w.raw["claimed_by"], "a1");

  this->add(*q, "p");
  WorkItem p = this->claim(*q);
  EXPECT_EQ(p.command, std::vector<std::string>{"true"});
  EXPECT_FALSE(p.command_invalid);
  EXPECT_EQ(q->claim_next("bad/agent", 60s).status().code(), ErrorCode::kInvalidArgument);
}

TYPED_TEST(WorkQueueSuite, ClaimSeesItemsAddedElsewhereOnceTheCacheIsUsedUp) {
  auto q = this->backend_.queue();
  auto other = this->backend_.queue();
  this->add(*q, "1");
  this->add(*q, "2");
  EXPECT_EQ(this->claim(*q).id, "1");      // lists 1 and 2
  this->add(*other, "0", /*priority=*/5);  // unseen until the cache is used up (fake clock never
                                           // ages it)
  EXPECT_EQ(this->claim(*q).id, "2");
  EXPECT_EQ(this->claim(*q).id, "0");

  // A queue whose candidates never stay fresh reads again on every claim.
  auto fresh = this->backend_.queue(/*candidate_max_age=*/0ms);
  this->add(*fresh, "3");
  this->add(*fresh, "5");
  EXPECT_EQ(this->claim(*fresh).id, "3");  // lists 3 and 5
  this->add(*other, "4", /*priority=*/5);
  EXPECT_EQ(this->claim(*fresh).id, "4");
  EXPECT_EQ(this->claim(*fresh).id, "5");
}

TYPED_TEST(WorkQueueSuite, FinishSuccessWritesOneCompletionAndArchivesTheWork) {
  auto q = this->backend_.queue();
  this->add(*q, "w1", /*priority=*/2);
  WorkItem w = this->claim(*q);
  const std::optional<std::string> claimed_text = this->backend_.raw("work_w1.json");
  ASSERT_TRUE(claimed_text.has_value());
  Result<FinishOutcome> r = q->finish(w, "a1", ok_run());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, FinishOutcome::kCompleted);
  EXPECT_FALSE(this->has("work_w1.json"));
  EXPECT_EQ(this->backend_.raw("archive/done/work_w1.json"), claimed_text)
      << "the claimed record is archived as it was";
  json c = this->shown(*q, "w1");
  EXPECT_EQ(c["location"], "completed");
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
  EXPECT_EQ(this->doc("completed_w1.json")["status"], "completed");

  // The store counts it as succeeded and no longer queued.
  Snapshot s = this->snap();
  EXPECT_TRUE(s.work.empty());
  ASSERT_EQ(s.completed.size(), 1u);
  EXPECT_EQ(s.completed[0].status, "completed");
  EXPECT_TRUE(s.rejected.empty());

  // A second finish of the same claim: the claim is gone, nothing written.
  Result<FinishOutcome> again = q->finish(w, "a1", ok_run());
  EXPECT_EQ(again.status().code(), ErrorCode::kConflict);
  EXPECT_THAT(again.status().message(), HasSubstr("no longer queued"));
}

TYPED_TEST(WorkQueueSuite, FinishFailureRetriesThenFailsForGood) {
  auto q = this->backend_.queue();
  this->add(*q, "w1", 0, /*max_attempts=*/2);
  WorkItem w = this->claim(*q);
  Result<FinishOutcome> r = q->finish(w, "a1", bad_run());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, FinishOutcome::kRetrying);
  json d = this->shown(*q, "w1");
  EXPECT_EQ(d["location"], "queue");
  EXPECT_EQ(d["status"], "pending");
  EXPECT_EQ(d["attempts"], 1);
  EXPECT_EQ(d["last_error"], "exit code 2");
  EXPECT_FALSE(d.contains("claimed_by"));
  EXPECT_FALSE(d.contains("lease_expires"));
  EXPECT_FALSE(this->has("completed_w1.json"));

  WorkItem again = this->claim(*q);
  EXPECT_EQ(again.attempts, 1);
  r = q->finish(again, "a1", bad_run());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, FinishOutcome::kFailed);
  EXPECT_FALSE(this->has("work_w1.json"));
  EXPECT_TRUE(this->has("archive/done/work_w1.json"));
  json c = this->shown(*q, "w1");
  EXPECT_EQ(c["location"], "completed");
  EXPECT_EQ(c["status"], "failed");
  EXPECT_EQ(c["error"], "exit code 2");
  EXPECT_EQ(c["output"], "oops\n");
  EXPECT_EQ(c["attempts"], 2);
  EXPECT_EQ(c["max_attempts"], 2);
  EXPECT_EQ(c["command"], json::array({"true"}));
  Snapshot s = this->snap();
  ASSERT_EQ(s.completed.size(), 1u);
  EXPECT_FALSE(s.completed[0].retryable);  // used up: optimize never retries it
  EXPECT_TRUE(s.work.empty());
}

TYPED_TEST(WorkQueueSuite, FinishMovesAStaleFailureAside) {
  auto q = this->backend_.queue();
  this->add(*q, "w1");
  WorkItem w = this->claim(*q);
  this->backend_.seed("completed_w1.json", R"({"id":"w1","status":"failed","agent":"old"})");
  Result<FinishOutcome> r = q->finish(w, "a1", ok_run());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, FinishOutcome::kCompleted);
  EXPECT_EQ(this->shown(*q, "w1")["agent"], "a1");
  EXPECT_EQ(this->doc("archive/retried/completed_w1.json")["agent"], "old");
}

TYPED_TEST(WorkQueueSuite, ArchiveNamesNeverCollide) {
  auto q = this->backend_.queue();
  for (int round = 0; round < 3; ++round) {
    this->add(*q, "w1");
    ASSERT_TRUE(q->finish(this->claim(*q), "a1", ok_run()).ok()) << round;
    this->backend_.remove("completed_w1.json");  // so that w1 can be added again
  }
  EXPECT_TRUE(this->has("archive/done/work_w1.json"));
  EXPECT_TRUE(this->has("archive/done/work_w1.1.json"));
  EXPECT_TRUE(this->has("archive/done/work_w1.2.json"));
}

TYPED_TEST(WorkQueueSuite, HeartbeatAndTelemetry) {
  auto q = this->backend_.queue();
  AgentState a;
  a.id = "a1";
  a.status = "busy";
  a.pid = 42;
  a.host = "h";
  a.current_work = "w1";
  a.created = *parse_iso8601("2025-07-01T11:00:00Z");
  ASSERT_TRUE(q->heartbeat(a).ok());
  EXPECT_EQ(this->doc("agent_a1.json"), json::parse(R"({"id":"a1","status":"busy",
      "heartbeat":"2025-07-01T12:00:00.000Z","pid":42,"host":"h","current_work":"w1",
      "created":"2025-07-01T11:00:00.000Z"})"));
  Snapshot busy = this->snap();
  ASSERT_EQ(busy.agents.size(), 1u);
  EXPECT_EQ(busy.agents[0].current_work, "w1");
  a.status = "idle";
  a.current_work.clear();
  ASSERT_TRUE(q->heartbeat(a).ok());
  EXPECT_FALSE(this->doc("agent_a1.json").contains("current_work"));
  a.id = "../a";
  EXPECT_EQ(q->heartbeat(a).code(), ErrorCode::kInvalidArgument);

  ASSERT_TRUE(q->record_telemetry("t1", {{"duration_ms", 3}}).ok());
  EXPECT_EQ(this->doc("telemetry_t1.json"),
            json::parse(R"({"id":"t1","timestamp":"2025-07-01T12:00:00.000Z",
                             "metrics":{"duration_ms":3}})"));
  EXPECT_EQ(q->record_telemetry("t2", json::array()).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(q->record_telemetry("", json::object()).code(), ErrorCode::kInvalidArgument);

  Snapshot s = this->snap();
  ASSERT_EQ(s.agents.size(), 1u);
  EXPECT_EQ(s.agents[0].id, "a1");
  EXPECT_EQ(s.agents[0].status, "idle");
  EXPECT_EQ(s.agents[0].pid, 42);
  EXPECT_EQ(s.agents[0].current_work, "");
  ASSERT_EQ(s.telemetry.size(), 1u);
  EXPECT_EQ(s.telemetry[0].id, "t1");
  EXPECT_TRUE(s.rejected.empty());
}

TYPED_TEST(WorkQueueSuite, ListOrdersAndFilters) {
  auto& b = this->backend_;
  b.seed("work_a.json", R"({"status":"pending","priority":1,"prompt":"x"})");
  b.seed("work_b.json", R"({"status":"Claimed","priority":5,"claimed_by":"z"})");
  b.seed("work_c.json", R"({"priority":3,"command":["ls","-l"]})");
  b.seed("work_d.json", "[1]");
  b.seed("dead_e.json", R"({"status":"dead"})");
  auto q = b.queue();
  Result<std::vector<WorkItem>> all = q->list("");
  ASSERT_TRUE(all.ok()) << all.status().message();
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].id, "b");
  EXPECT_EQ((*all)[1].id, "c");
  EXPECT_EQ((*all)[1].command, (std::vector<std::string>{"ls", "-l"}));
  EXPECT_EQ((*all)[2].id, "a");
  EXPECT_EQ((*all)[2].prompt, "x");
  for (const char* status : {"pending", "PENDING"}) {
    Result<std::vector<WorkItem>> pending = q->list(status);
    ASSERT_TRUE(pending.ok());
    ASSERT_EQ(pending->size(), 2u) << status;
    EXPECT_EQ((*pending)[0].id, "c");
    EXPECT_EQ((*pending)[1].id, "a");
  }
  Result<std::vector<WorkItem>> claimed = q->list("claimed");
  ASSERT_TRUE(claimed.ok());
  ASSERT_EQ(claimed->size(), 1u);
  EXPECT_EQ((*claimed)[0].raw["claimed_by"], "z");
}

TYPED_TEST(WorkQueueSuite, ShowFindsTheItemWhereverItIs) {
  auto& b = this->backend_;
  auto q = b.queue();
  this->add(*q, "q1");
  json s = this->shown(*q, "q1");
  EXPECT_EQ(s["location"], "queue");
  EXPECT_EQ(s["status"], "pending");

  ASSERT_TRUE(q->finish(this->claim(*q), "a1", ok_run()).ok());
  s = this->shown(*q, "q1");
  EXPECT_EQ(s["location"], "completed");
  EXPECT_EQ(s["result"], "done\n");
  b.remove("completed_q1.json");
  s = this->shown(*q, "q1");
  EXPECT_EQ(s["location"], "archive");
  EXPECT_EQ(s["status"], "claimed");

  b.seed("dead_d1.json", R"({"status":"dead"})");
  EXPECT_EQ(this->shown(*q, "d1")["location"], "dead");
  b.seed("work_bad.json", "nope");
  EXPECT_EQ(q->show("bad").status().code(), ErrorCode::kCorrupt);
  EXPECT_EQ(q->show("none").status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(q->show("../x").status().code(), ErrorCode::kInvalidArgument);
}

TYPED_TEST(WorkQueueSuite, RequeueFromEveryPlace) {
  auto& b = this->backend_;
  auto q = b.queue();
  // Claimed → pending, attempts reset.
  b.seed("work_c.json", R"({"status":"claimed","claimed_by":"z","attempts":2,"prompt":"p"})");
  ASSERT_TRUE(q->requeue("c").ok());
  json d = this->shown(*q, "c");
  EXPECT_EQ(d["location"], "queue");
  EXPECT_EQ(d["status"], "pending");
  EXPECT_EQ(d["attempts"], 0);
  EXPECT_FALSE(d.contains("claimed_by"));
  EXPECT_EQ(d["prompt"], "p");
  // Pending with no attempts: no write.
  const std::optional<std::string> before = b.raw("work_c.json");
  ASSERT_TRUE(q->requeue("c").ok());
  EXPECT_EQ(b.raw("work_c.json"), before);

  // Dead → queue.
  b.seed("dead_d.json", R"({"status":"dead","dead_reason":"max_attempts","attempts":3,
                           "command":["x"]})");
  ASSERT_TRUE(q->requeue("d").ok());
  EXPECT_FALSE(this->has("dead_d.json"));
  d = this->shown(*q, "d");
  EXPECT_EQ(d["location"], "queue");
  EXPECT_EQ(d["status"], "pending");
  EXPECT_EQ(d["attempts"], 0);
  EXPECT_FALSE(d.contains("dead_reason"));
  EXPECT_EQ(d["command"], json::array({"x"}));

  // Failed completion with payload → new item; the record is archived (retried) unchanged.
  const std::string failed = R"({"id":"f","status":"failed","attempts":3,"max_attempts":3,
                                 "priority":4,"command":["y"],"error":"e"})";
  b.seed("completed_f.json", failed);
  ASSERT_TRUE(q->requeue("f").ok());
  EXPECT_FALSE(this->has("completed_f.json"));
  EXPECT_EQ(b.raw("archive/retried/completed_f.json"), failed);
  d = this->shown(*q, "f");
  EXPECT_EQ(d["location"], "queue");
  EXPECT_EQ(d["status"], "pending");
  EXPECT_EQ(d["attempts"], 0);
  EXPECT_EQ(d["max_attempts"], 3);
  EXPECT_EQ(d["priority"], 4);
  EXPECT_EQ(d["command"], json::array({"y"}));
  EXPECT_EQ(d["retry_of"], "completed_f.json");
  EXPECT_EQ(this->claim(*q).id, "f");
}

}  // namespace
}  // namespace dslmodel::store::suite

// DirWorkQueue: add, claim, finish, release, requeue, show and list round trips and their error
// paths; what DirStore sees of the records the queue writes.
#include "store/dir_work_queue.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "unit/store/work_queue_fixture.h"

namespace dslmodel::store {
namespace {

using json = nlohmann::json;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

TEST_F(DirWorkQueueTest, AddWritesAPendingItem) {
  DirWorkQueue q = queue();
  NewWork w;
  w.command = {"echo", "a b", "$(x); y"};
  w.priority = 4;
  w.max_attempts = 2;
  w.timeout = 30s;
  Result<std::string> id = q.add(w);
  ASSERT_TRUE(id.ok()) << id.status().message();
  EXPECT_THAT(*id, ::testing::MatchesRegex("[0-9]+-[0-9a-f]{6}"));
  json d = doc("work_" + *id + ".json");
  EXPECT_EQ(d["id"], *id);
  EXPECT_EQ(d["status"], "pending");
  EXPECT_EQ(d["priority"], 4);
  EXPECT_EQ(d["created"], "2025-07-01T12:00:00.000Z");
  EXPECT_EQ(d["attempts"], 0);
  EXPECT_EQ(d["max_attempts"], 2);
  EXPECT_EQ(d["timeout_s"], 30);
  EXPECT_EQ(d["command"], json::array({"echo", "a b", "$(x); y"}));
  EXPECT_FALSE(d.contains("prompt"));

  NewWork p;
  p.id = "p.1_x-y";
  p.prompt = "summarize";
  ASSERT_TRUE(q.add(p).ok());
  EXPECT_EQ(doc("work_p.1_x-y.json")["prompt"], "summarize");
  EXPECT_FALSE(doc("work_p.1_x-y.json").contains("command"));
}

TEST_F(DirWorkQueueTest, AddRejectsBadInputAndWritesNothing) {
  DirWorkQueue q = queue();
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
  EXPECT_TRUE(fs::is_empty(dir_));

  add(q, "dup");
  NewWork dup;
  dup.id = "dup";
  dup.prompt = "again";
  Result<std::string> r = q.add(dup);
  EXPECT_EQ(r.status().code(), ErrorCode::kConflict);
  EXPECT_THAT(r.status().message(), HasSubstr("\"dup\" already exists"));
  EXPECT_EQ(doc("work_dup.json")["command"], json::array({"true"}));

  DirWorkQueue missing(dir_ / "nope", {}, &clock_);
  EXPECT_EQ(missing.add(dup).status().code(), ErrorCode::kNotFound);
}

TEST_F(DirWorkQueueTest, PriorityWordsOrderClaims) {
  write("work_low.json", R"({"status":"pending","priority":"low"})");
  write("work_none.json", R"({"status":"pending"})");
  write("work_five.json", R"({"status":"pending","priority":"5"})");
  write("work_high.json", R"({"status":"pending","priority":"High"})");
  write("work_crit.json", R"({"status":"pending","priority":"CRITICAL"})");
  write("work_eleven.json", R"({"status":"pending","priority":11})");
  DirWorkQueue q = queue();
  Result<std::vector<WorkItem>> listed = q.list("");
  ASSERT_TRUE(listed.ok());
  std::vector<std::string> list_order;
  for (const WorkItem& w : *listed) list_order.push_back(w.id);
  const std::vector<std::string> want = {"crit", "eleven", "high", "five", "none", "low"};
  EXPECT_EQ(list_order, want);
  std::vector<std::string> order(6);
  for (std::string& id : order) id = claim(q).id;
  EXPECT_EQ(order, want);
}

TEST_F(DirWorkQueueTest, HugeNumbersKeepTheItemClaimable) {
  write("work_big.json", R"({"status":"pending","command":["true"],"attempts":)" +
                             std::string(5000, '9') + R"(,"retries":1e99999,"timeout_s":0})");
  DirWorkQueue q = queue();
  WorkItem w = claim(q);
  EXPECT_EQ(w.id, "big");
  EXPECT_EQ(w.attempts, 0);
  EXPECT_FALSE(w.timeout.has_value()) << "timeout_s 0 is no instant timeout";
  json d = doc("work_big.json");
  EXPECT_EQ(d["status"], "claimed");
  EXPECT_TRUE(d["retries"].is_null());
}

TEST_F(DirWorkQueueTest, UnusableItemsAreNeverClaimed) {
  write("work_\xff\xfe.json", R"({"status":"pending","command":["true"]})");
  write("work_a b.json", R"({"status":"pending","command":["true"]})");
  write("work_deep.json", R"({"status":"pending","command":["true"],"x":)" +
                              std::string(100000, '[') + std::string(100000, ']') + "}");
  DirWorkQueue q = queue();
  Result<std::optional<WorkItem>> none = q.claim_next("a1", 60s);
  ASSERT_TRUE(none.ok()) << none.status().message();
  EXPECT_FALSE(none->has_value());
  Result<std::vector<WorkItem>> listed = q.list("");
  ASSERT_TRUE(listed.ok());
  EXPECT_TRUE(listed->empty());
  Result<json> shown = q.show("deep");
  ASSERT_FALSE(shown.ok());
  EXPECT_EQ(shown.status().message(), "work_deep.json: nested deeper than 64 levels");
}

TEST_F(DirWorkQueueTest, ClaimedItemCarriesItsPayload) {
  write("work_cmd.json", R"({"status":"pending","command":"rm -rf /; echo","timeout_s":2.5})");
  DirWorkQueue q = queue();
  WorkItem w = claim(q);
  EXPECT_EQ(w.id, "cmd");
  EXPECT_EQ(w.file, "work_cmd.json");
  EXPECT_EQ(w.status, "claimed");
  EXPECT_TRUE(w.command_invalid);
  EXPECT_TRUE(w.command.empty());
  EXPECT_EQ(w.timeout, Seconds(3));
  EXPECT_EQ(w.max_attempts, 3);
  EXPECT_EQ(w.claimed_by, "a1");
  EXPECT_EQ(w.raw["claimed_by"], "a1");

  add(q, "p");
  WorkItem p = claim(q);
  EXPECT_EQ(p.command, std::vector<std::string>{"true"});
  EXPECT_FALSE(p.command_invalid);
  EXPECT_EQ(q.claim_next("bad/agent", 60s).status().code(), ErrorCode::kInvalidArgument);
}

TEST_F(DirWorkQueueTest, ClaimSeesItemsAddedElsewhereOnceTheCacheIsUsedUp) {
  DirWorkQueue q = queue();
  DirWorkQueue other = queue();
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

TEST_F(DirWorkQueueTest, FinishSuccessWritesOneCompletionAndArchivesTheWork) {
  DirWorkQueue q = queue();
  add(q, "w1", /*priority=*/2);
  WorkItem w = claim(q);
  Result<FinishOutcome> r = q.finish(w, "a1", ok_run());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, FinishOutcome::kCompleted);
  EXPECT_FALSE(has("work_w1.json"));
  EXPECT_TRUE(has("archive/done/work_w1.json"));
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

  // Fixture compatibility: DirStore counts it as succeeded and no longer queued.
  Snapshot s = snap();
  EXPECT_TRUE(s.work.empty());
  ASSERT_EQ(s.completed.size(), 1u);
  EXPECT_EQ(s.completed[0].status, "completed");
  EXPECT_TRUE(s.rejected.empty());

  // A second finish of the same claim: the claim is gone, nothing written.
  Result<FinishOutcome> again = q.finish(w, "a1", ok_run());
  EXPECT_EQ(again.status().code(), ErrorCode::kConflict);
  EXPECT_THAT(again.status().message(), HasSubstr("no longer queued"));
}

TEST_F(DirWorkQueueTest, FinishFailureRetriesThenFailsForGood) {
  DirWorkQueue q = queue();
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
  EXPECT_EQ(c["command"], json::array({"true"}));
  Snapshot s = snap();
  ASSERT_EQ(s.completed.size(), 1u);
  EXPECT_FALSE(s.completed[0].retryable);  // used up: optimize never retries it
  EXPECT_TRUE(s.work.empty());
}

TEST_F(DirWorkQueueTest, NoteProcessesRecordsWhereTheClaimRunsUntilTheClaimEnds) {
  DirWorkQueue q = queue();
  add(q, "w1");
  WorkItem w = claim(q);
  ClaimProcesses p;
  p.host = "h";
  p.pid_space = "boot/1";
  p.pid = 10;
  p.pid_start = 20;
  p.pgid = 11;
  p.pgid_start = 21;
  ASSERT_TRUE(q.note_processes(w, "a1", p).ok());
  json d = doc("work_w1.json");
  EXPECT_EQ(d["status"], "claimed");
  EXPECT_EQ(d["processes"], json({{"host", "h"},
                                  {"pid_space", "boot/1"},
                                  {"pid", 10},
                                  {"pid_start", 20},
                                  {"pgid", 11},
                                  {"pgid_start", 21}}));
  EXPECT_EQ(q.note_processes(w, "a2", p).code(), ErrorCode::kConflict) << "not a2's claim";
  ASSERT_TRUE(q.release(w, "a1").ok());
  EXPECT_FALSE(doc("work_w1.json").contains("processes"));
  EXPECT_EQ(q.note_processes(w, "a1", p).code(), ErrorCode::kConflict) << "released";
}

TEST_F(DirWorkQueueTest, FinishMovesAStaleFailureAside) {
  DirWorkQueue q = queue();
  add(q, "w1");
  WorkItem w = claim(q);
  write("completed_w1.json", R"({"id":"w1","status":"failed","agent":"old"})");
  Result<FinishOutcome> r = q.finish(w, "a1", ok_run());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(*r, FinishOutcome::kCompleted);
  EXPECT_EQ(doc("completed_w1.json")["agent"], "a1");
  EXPECT_EQ(doc("archive/retried/completed_w1.json")["agent"], "old");
}

TEST_F(DirWorkQueueTest, ArchiveNamesNeverCollide) {
  DirWorkQueue q = queue();
  for (int round = 0; round < 2; ++round) {
    add(q, "w1");
    ASSERT_TRUE(q.finish(claim(q), "a1", ok_run()).ok());
    if (round == 0) fs::rename(dir_ / "completed_w1.json", dir_ / "completed_first.json");
  }
  EXPECT_TRUE(has("archive/done/work_w1.json"));
  EXPECT_TRUE(has("archive/done/work_w1.1.json"));
}

TEST_F(DirWorkQueueTest, HeartbeatAndTelemetry) {
  DirWorkQueue q = queue();
  AgentState a;
  a.id = "a1";
  a.status = "busy";
  a.pid = 42;
  a.host = "h";
  a.current_work = "w1";
  a.created = *parse_iso8601("2025-07-01T11:00:00Z");
  ASSERT_TRUE(q.heartbeat(a).ok());
  json d = doc("agent_a1.json");
  EXPECT_EQ(d, json::parse(R"({"id":"a1","status":"busy","heartbeat":"2025-07-01T12:00:00.000Z",
      "pid":42,"host":"h","current_work":"w1","created":"2025-07-01T11:00:00.000Z"})"));
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
  for (const auto& e : fs::directory_iterator(dir_)) {
    EXPECT_NE(e.path().filename().string().front(), '.') << "temp file left behind";
  }
}

TEST_F(DirWorkQueueTest, ListOrdersAndFilters) {
  write("work_a.json", R"({"status":"pending","priority":1,"prompt":"x"})");
  write("work_b.json", R"({"status":"Claimed","priority":5,"claimed_by":"z"})");
  write("work_c.json", R"({"priority":3,"command":["ls","-l"]})");
  write("work_d.json", "[1]");
  write("dead_e.json", R"({"status":"dead"})");
  DirWorkQueue q = queue();
  Result<std::vector<WorkItem>> all = q.list("");
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].id, "b");
  EXPECT_EQ((*all)[1].id, "c");
  EXPECT_EQ((*all)[1].command, (std::vector<std::string>{"ls", "-l"}));
  EXPECT_EQ((*all)[2].prompt, "x");
  Result<std::vector<WorkItem>> pending = q.list("pending");
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 2u);
  EXPECT_EQ((*pending)[0].id, "c");
  Result<std::vector<WorkItem>> claimed = q.list("claimed");
  ASSERT_TRUE(claimed.ok());
  ASSERT_EQ(claimed->size(), 1u);
  EXPECT_EQ((*claimed)[0].raw["claimed_by"], "z");

  DirWorkQueue missing(dir_ / "nope", {}, &clock_);
  EXPECT_EQ(missing.list("").status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(missing.claim_next("a1", 60s).status().code(), ErrorCode::kNotFound);
}

TEST_F(DirWorkQueueTest, ShowFindsTheItemWhereverItIs) {
  DirWorkQueue q = queue();
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
  fs::rename(dir_ / "completed_q1.json", dir_ / "elsewhere.json");
  s = q.show("q1");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ((*s)["location"], "archive");

  write("dead_d1.json", R"({"status":"dead"})");
  EXPECT_EQ((*q.show("d1"))["location"], "dead");
  write("work_bad.json", "nope");
  EXPECT_EQ(q.show("bad").status().code(), ErrorCode::kCorrupt);
  EXPECT_EQ(q.show("none").status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(q.show("../x").status().code(), ErrorCode::kInvalidArgument);
}

TEST_F(DirWorkQueueTest, RequeueFromEveryPlace) {
  DirWorkQueue q = queue();
  // Claimed → pending, attempts reset.
  write("work_c.json", R"({"status":"claimed","claimed_by":"z","attempts":2,"prompt":"p"})");
  ASSERT_TRUE(q.requeue("c").ok());
  json d = doc("work_c.json");
  EXPECT_EQ(d["status"], "pending");
  EXPECT_EQ(d["attempts"], 0);
  EXPECT_FALSE(d.contains("claimed_by"));
  // Pending with no attempts: no write.
  std::string before = read("work_c.json");
  ASSERT_TRUE(q.requeue("c").ok());
  EXPECT_EQ(read("work_c.json"), before);
  // Dead → queue.
  write("dead_d.json", R"({"status":"dead","dead_reason":"max_attempts","attempts":3,
                           "command":["x"]})");
  ASSERT_TRUE(q.requeue("d").ok());
  EXPECT_FALSE(has("dead_d.json"));
  d = doc("work_d.json");
  EXPECT_EQ(d["status"], "pending");
  EXPECT_EQ(d["attempts"], 0);
  EXPECT_FALSE(d.contains("dead_reason"));
  EXPECT_EQ(d["command"], json::array({"x"}));
  // Failed completion with payload → new item; the record moves to archive/retried.
  write("completed_f.json", R"({"id":"f","status":"failed","attempts":3,"max_attempts":3,
                                "priority":4,"command":["y"],"error":"e"})");
  ASSERT_TRUE(q.requeue("f").ok());
  EXPECT_FALSE(has("completed_f.json"));
  EXPECT_TRUE(has("archive/retried/completed_f.json"));
  d = doc("work_f.json");
  EXPECT_EQ(d["status"], "pending");
  EXPECT_EQ(d["attempts"], 0);
  EXPECT_EQ(d["max_attempts"], 3);
  EXPECT_EQ(d["priority"], 4);
  EXPECT_EQ(d["command"], json::array({"y"}));
  EXPECT_EQ(claim(q).id, "f");
}

}  // namespace
}  // namespace dslmodel::store

// The CoordinationStore contract (include/dslmodel/store.h), run over every backend.
//
// Each case is written once against the interface; backend_fixtures.h gives each backend an
// empty store and a way to seed and read raw records. A third backend is a new fixture there and
// one more entry in its Backends list, nothing else (docs/testing.md, "Interface suites"). What
// only one backend has (file types and permissions, temp files, archive batches and their cache,
// process-group checks, key layout, paging, the totals key, fencing) stays in dir_store_test.cc,
// dir_repair_test.cc and etcd_store_test.cc.
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "dslmodel/config.h"
#include "dslmodel/policy.h"
#include "unit/store/backend_fixtures.h"

namespace dslmodel::store::suite {
namespace {

using json = nlohmann::json;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

constexpr const char* kClaimed =
    R"({"id": "w1", "status": "claimed", "claimed_by": "agent_a", "claimed_at": "2025-06-27",)"
    R"( "lease_expires": "2025-06-28", "attempts": 1, "prompt": "p", "extra": [1]})";
constexpr const char* kFailed =
    R"({"id": "c3", "status": "failed", "command": ["echo", "hi"], "attempts": 1,)"
    R"( "max_attempts": 3, "priority": 4, "error": "boom"})";

template <typename Fixture>
class StoreSuite : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string why = backend_.unavailable(); !why.empty()) GTEST_SKIP() << why;
  }

  // Every record of the demo coordination directory (tests/testdata), seeded by its name.
  void seed_demo() {
    for (const fs::directory_entry& e : fs::directory_iterator(kFixture)) {
      Result<std::string> text = platform::read_file_limited(e.path(), 1 << 20);
      ASSERT_TRUE(text.ok()) << e.path();
      backend_.seed(e.path().filename().string(), *text);
    }
  }
  Snapshot snap(const StoreConfig& cfg = {}) {
    Result<Snapshot> s = backend_.store(cfg)->snapshot();
    EXPECT_TRUE(s.ok()) << s.status().message();
    return s.ok() ? *s : Snapshot{};
  }
  RepairOutcome apply(const std::vector<RepairAction>& actions) {
    Result<RepairOutcome> out = backend_.store()->apply(actions);
    EXPECT_TRUE(out.ok()) << out.status().message();
    return out.ok() ? *out : RepairOutcome{};
  }
  Status undo(const json& inverse) { return backend_.store()->undo(inverse); }
  std::optional<std::string> raw(const std::string& file) { return backend_.raw(file); }
  json doc(const std::string& file) {
    return json::parse(backend_.raw(file).value_or("null"), nullptr, false);
  }

  Fixture backend_;
};

TYPED_TEST_SUITE(StoreSuite, Backends, BackendName);

// ---- snapshot ----

TYPED_TEST(StoreSuite, SnapshotReadsTheDemoFixture) {
  this->seed_demo();
  Snapshot s = this->snap();
  EXPECT_EQ(s.agents.size(), 2u);
  EXPECT_EQ(s.work.size(), 8u);
  EXPECT_EQ(s.completed.size(), 3u);
  EXPECT_EQ(s.telemetry.size(), 4u);
  EXPECT_TRUE(s.rejected.empty());
  EXPECT_FALSE(s.partial);
  EXPECT_EQ(s.source, this->backend_.source());
  EXPECT_EQ(this->backend_.store()->describe(), this->backend_.source());
  ASSERT_EQ(s.agents.size(), 2u);
  EXPECT_EQ(s.agents[0].file, "agent_0.json");
  EXPECT_EQ(s.agents[0].status, "active");
  ASSERT_EQ(s.work.size(), 8u);
  EXPECT_EQ(s.work[7].id, "work_7");
  EXPECT_EQ(s.work[7].status, "pending");
  ASSERT_EQ(s.completed.size(), 3u);
  EXPECT_EQ(s.completed[2].status, "completed");
  ASSERT_EQ(s.telemetry.size(), 4u);
  EXPECT_EQ(s.telemetry[3].count, 1);
  EXPECT_EQ(s.archived.succeeded + s.archived.failed + s.archived.telemetry, 0);

  // Record for record what the demo directory says read in place (dir_store_test.cc pins that
  // reading down), and so the same measurement.
  Result<Snapshot> in_place = DirStore(kFixture, {}, &this->backend_.clock()).snapshot();
  ASSERT_TRUE(in_place.ok()) << in_place.status().message();
  EXPECT_EQ(snapshot_summary(s), snapshot_summary(*in_place));
  Config config;
  const TimePoint now = *parse_iso8601("2025-06-27T12:00:00Z");
  SystemMetrics a = measure(s, config, now);
  SystemMetrics b = measure(*in_place, config, now);
  EXPECT_EQ(a.health_score, b.health_score);
  EXPECT_EQ(a.rejected_files, b.rejected_files);
}

TYPED_TEST(StoreSuite, BadRecordsAreRejectedWithReasonsAndTheRestCounted) {
  this->seed_demo();
  const std::map<std::string, std::string> bad = {
      {"work_corrupt.json", "{\"id\": \"x\", \"status\": pending}"},
      {"work_empty.json", ""},
      {"work_trunc.json", "{\"id\": \"x\", \"stat"},
      {"work_utf8.json", "{\"id\": \"x\", \"status\": \"pend\xff\xfeing\"}"},
      {"work_type.json", "{\"id\": \"x\", \"status\": 5}"},
      {"agent_array.json", "[{\"status\": \"active\"}]"},
      {"telemetry_big.json", "{\"pad\": \"" + std::string(300, 'x') + "\"}"}};
  for (const auto& [file, text] : bad) this->backend_.seed(file, text);
  StoreConfig cfg;
  cfg.max_file_size = 200;
  Snapshot s = this->snap(cfg);
  EXPECT_EQ(s.agents.size(), 2u);
  EXPECT_EQ(s.work.size(), 8u);
  EXPECT_EQ(s.completed.size(), 3u);
  EXPECT_EQ(s.telemetry.size(), 4u);
  std::map<std::string, std::string> reasons;
  for (const RejectedFile& r : s.rejected) reasons[r.name] = r.reason;
  EXPECT_EQ(reasons, (std::map<std::string, std::string>{
                         {"agent_array.json", "not a JSON object"},
                         {"telemetry_big.json", "over the size limit (200 bytes)"},
                         {"work_corrupt.json", "invalid JSON"},
                         {"work_empty.json", "empty file"},
                         {"work_trunc.json", "invalid JSON"},
                         {"work_type.json", "field \"status\" is not a string"},
                         {"work_utf8.json", "not valid UTF-8"},
                     }));
  EXPECT_TRUE(std::is_sorted(s.rejected.begin(), s.rejected.end(),
                             [](auto& a, auto& b) { return a.name < b.name; }));
}

TYPED_TEST(StoreSuite, DuplicateIdsCountOnce) {
  for (int i = 0; i < 2000; ++i) {
    this->backend_.seed(fmt::format("agent_{:04}.json", i),
                        R"({"id": "agent_1", "status": "active"})");
  }
  this->backend_.seed("agent_zz.json",
                      R"({"id": "agent_1", "status": "active", "heartbeat": 1751371200})");
  this->backend_.seed("work_a.json", R"({"id": "job", "status": "pending"})");
  this->backend_.seed("work_b.json", R"({"id": "job", "status": "pending"})");
  this->backend_.seed("work_c.json", R"({"status": "pending"})");
  Snapshot s = this->snap();
  ASSERT_EQ(s.agents.size(), 1u);
  EXPECT_EQ(s.agents[0].file, "agent_zz.json") << "the newest heartbeat stands for the id";
  EXPECT_EQ(s.work.size(), 2u);
  ASSERT_EQ(s.warnings.size(), 2u);
  EXPECT_EQ(s.warnings[0].name, "agent_zz.json");
  EXPECT_EQ(s.warnings[0].message,
            "id \"agent_1\" is used by 2001 files, counted once (this one); also agent_0000.json, "
            "agent_0001.json, agent_0002.json, agent_0003.json, agent_0004.json, agent_0005.json, "
            "agent_0006.json, agent_0007.json, agent_0008.json, agent_0009.json and 1990 more");
  EXPECT_EQ(s.warnings[1].name, "work_a.json");
  EXPECT_EQ(s.warnings[1].message,
            "id \"job\" is used by 2 files, counted once (this one); also work_b.json");
}

TYPED_TEST(StoreSuite, WarningsOfKeptRecordsAreListed) {
  this->backend_.seed("work_1.json",
                      R"({"status": "pending", "priority": "high", "timeout_s": 0})");
  this->backend_.seed("agent_1.json", R"({"status": "active", "pid": "x"})");
  Snapshot s = this->snap();
  EXPECT_EQ(s.work.size(), 1u);
  EXPECT_EQ(s.agents.size(), 1u);
  ASSERT_EQ(s.warnings.size(), 2u);
  EXPECT_EQ(s.warnings[0].name, "agent_1.json");
  EXPECT_EQ(s.warnings[0].message, R"(field "pid" is not an integer: "x", ignored)");
  EXPECT_EQ(s.warnings[1].name, "work_1.json");
  EXPECT_THAT(s.warnings[1].message, HasSubstr(R"(field "timeout_s" is out of range: 0)"));
}

TYPED_TEST(StoreSuite, RecordsAreSortedByFileName) {
  for (const char* id : {"b", "c", "a"})
    this->backend_.seed(std::string("work_") + id + ".json", "{}");
  Snapshot s = this->snap();
  ASSERT_EQ(s.work.size(), 3u);
  EXPECT_EQ(s.work[0].file, "work_a.json");
  EXPECT_EQ(s.work[1].file, "work_b.json");
  EXPECT_EQ(s.work[2].file, "work_c.json");
  EXPECT_EQ(s.work[0].id, "a");
}

// What the backend's own queue writes reads back as the same records in every backend.
TYPED_TEST(StoreSuite, SnapshotOfQueueWrittenState) {
  auto q = this->backend_.queue();
  for (const char* id : {"a", "b", "c", "d"}) {
    NewWork w;
    w.id = id;
    w.command = {"echo", id};
    w.priority = id[0] == 'c' ? 5 : 0;
    w.max_attempts = id[0] == 'b' ? 1 : 3;
    ASSERT_TRUE(q->add(w).ok());
  }
  AgentState agent;
  agent.id = "ag";
  agent.status = "busy";
  agent.pid = 7;
  ASSERT_TRUE(q->heartbeat(agent).ok());
  Result<std::optional<WorkItem>> c = q->claim_next("ag", 60s);
  ASSERT_TRUE(c.ok() && c->has_value());
  EXPECT_EQ((*c)->id, "c");
  ASSERT_TRUE(q->finish(**c, "ag", {true, 0, 3, "out", ""}).ok());
  Result<std::optional<WorkItem>> a = q->claim_next("ag", 60s);
  ASSERT_TRUE(a.ok() && a->has_value());
  EXPECT_EQ((*a)->id, "a");
  Result<std::optional<WorkItem>> b = q->claim_next("ag", 60s);
  ASSERT_TRUE(b.ok() && b->has_value());
  Result<FinishOutcome> failed = q->finish(**b, "ag", {false, 1, 3, "", "boom"});
  ASSERT_TRUE(failed.ok());
  EXPECT_EQ(*failed, FinishOutcome::kFailed);
  ASSERT_TRUE(q->record_telemetry("t1", {{"n", 1}}).ok());

  Snapshot s = this->snap();
  EXPECT_EQ(snapshot_summary(s), json::parse(R"({
    "agents": [["ag", "agent_ag.json", "busy", "2025-07-01T12:00:00.000Z", false, 7, "", ""]],
    "work": [["a", "work_a.json", "claimed", 0, "2025-07-01T12:00:00.000Z", "ag",
              "2025-07-01T12:00:00.000Z", "2025-07-01T12:01:00.000Z", 0, 3],
             ["d", "work_d.json", "pending", 0, "2025-07-01T12:00:00.000Z", "", "-", "-", 0, 3]],
    "completed": [["b", "completed_b.json", "failed", "2025-07-01T12:00:00.000Z", false],
                  ["c", "completed_c.json", "completed", "2025-07-01T12:00:00.000Z", false]],
    "telemetry": [["t1", "telemetry_t1.json", "2025-07-01T12:00:00.000Z", 1]],
    "rejected": [], "partial": false, "archived": [0, 0, 0]})"));
  EXPECT_TRUE(s.warnings.empty());
  // The records as stored, byte for byte: the same text in every backend.
  EXPECT_EQ(
      this->raw("work_a.json"),
      R"({"id":"a","status":"claimed","priority":0,"created":"2025-07-01T12:00:00.000Z",)"
      R"("attempts":0,"max_attempts":3,"command":["echo","a"],"claimed_by":"ag",)"
      R"("claimed_at":"2025-07-01T12:00:00.000Z","lease_expires":"2025-07-01T12:01:00.000Z"})");
  EXPECT_EQ(
      this->raw("archive/done/work_c.json"),
      R"({"id":"c","status":"claimed","priority":5,"created":"2025-07-01T12:00:00.000Z",)"
      R"("attempts":0,"max_attempts":3,"command":["echo","c"],"claimed_by":"ag",)"
      R"("claimed_at":"2025-07-01T12:00:00.000Z","lease_expires":"2025-07-01T12:01:00.000Z"})");
  EXPECT_EQ(this->raw("completed_b.json"),
            R"({"id":"b","status":"failed","error":"boom","output":"","exit_code":1,)"
            R"("duration_ms":3,"agent":"ag","finished":"2025-07-01T12:00:00.000Z","attempts":1,)"
            R"("max_attempts":1,"command":["echo","b"],"priority":0,)"
            R"("created":"2025-07-01T12:00:00.000Z","claimed_at":"2025-07-01T12:00:00.000Z"})");
}

// ---- apply and undo ----

TYPED_TEST(StoreSuite, RequeueAndUndo) {
  this->backend_.seed("work_1.json", kClaimed);
  RepairOutcome out =
      this->apply({{RepairOp::kRequeue, "work_1.json", "agent_a", "orphaned_claim"}});
  EXPECT_EQ(out.applied, 1);
  EXPECT_EQ(out.skipped, 0);
  json d = this->doc("work_1.json");
  EXPECT_EQ(d["status"], "pending");
  EXPECT_EQ(d["attempts"], 2);
  EXPECT_FALSE(d.contains("claimed_by"));
  EXPECT_FALSE(d.contains("claimed_at"));
  EXPECT_FALSE(d.contains("lease_expires"));
  EXPECT_EQ(d["requeue_reason"], "orphaned_claim");
  EXPECT_EQ(d["requeued_at"], "2025-07-01T12:00:00.000Z");
  EXPECT_EQ(d["extra"], json::array({1}));
  ASSERT_EQ(out.inverse.size(), 1u);
  EXPECT_EQ(out.inverse[0]["op"], "restore");

  ASSERT_TRUE(this->undo(out.inverse).ok());
  EXPECT_EQ(this->raw("work_1.json"), kClaimed);
  EXPECT_TRUE(this->undo(out.inverse).ok());  // idempotent
  EXPECT_EQ(this->raw("work_1.json"), kClaimed);
}

TYPED_TEST(StoreSuite, RequeueSkipsWhenThePreconditionChanged) {
  this->backend_.seed("work_1.json", kClaimed);
  this->backend_.seed("work_2.json", R"({"status": "pending"})");
  RepairOutcome out = this->apply({{RepairOp::kRequeue, "work_1.json", "agent_b", "orphaned_claim"},
                                   {RepairOp::kRequeue, "work_2.json", "", "lease_expired"},
                                   {RepairOp::kRequeue, "work_3.json", "", "lease_expired"},
                                   {RepairOp::kRequeue, "../work_1.json", "", "x"}});
  EXPECT_EQ(out.applied, 0);
  EXPECT_EQ(out.skipped, 4);
  ASSERT_EQ(out.notes.size(), 4u);
  EXPECT_EQ(out.notes[0], "requeue work_1.json: skipped: claimed by \"agent_a\" now");
  EXPECT_THAT(out.notes[1], HasSubstr("status is now \"pending\""));
  EXPECT_THAT(out.notes[2], HasSubstr("gone"));
  EXPECT_EQ(this->raw("work_1.json"), kClaimed);
  EXPECT_EQ(this->raw("work_2.json"), R"({"status": "pending"})");
  EXPECT_TRUE(out.inverse.empty());
}

TYPED_TEST(StoreSuite, UndoLeavesARecordThatChangedSinceAlone) {
  this->backend_.seed("work_1.json", kClaimed);
  RepairOutcome out = this->apply({{RepairOp::kRequeue, "work_1.json", "", "lease_expired"}});
  ASSERT_EQ(out.applied, 1);
  const std::string reclaimed = R"({"id": "w1", "status": "claimed", "claimed_by": "agent_z"})";
  this->backend_.seed("work_1.json", reclaimed);
  Status s = this->undo(out.inverse);
  EXPECT_EQ(s.code(), ErrorCode::kConflict);
  EXPECT_THAT(s.message(), HasSubstr("work_1.json: changed since"));
  EXPECT_EQ(this->raw("work_1.json"), reclaimed);
}

TYPED_TEST(StoreSuite, DeadLetterAndUndo) {
  this->backend_.seed("work_1.json", kClaimed);
  RepairOutcome out = this->apply({{RepairOp::kDeadLetter, "work_1.json", "", "max_attempts"}});
  EXPECT_EQ(out.applied, 1);
  EXPECT_EQ(this->raw("work_1.json"), std::nullopt);
  json dead = this->doc("dead_1.json");
  EXPECT_EQ(dead["status"], "dead");
  EXPECT_EQ(dead["dead_reason"], "max_attempts");
  EXPECT_EQ(dead["dead_at"], "2025-07-01T12:00:00.000Z");
  EXPECT_EQ(dead["prompt"], "p");
  EXPECT_TRUE(this->snap().work.empty());
  ASSERT_EQ(out.inverse.size(), 1u);
  EXPECT_EQ(out.inverse[0]["op"], "undead");

  ASSERT_TRUE(this->undo(out.inverse).ok());
  EXPECT_EQ(this->raw("work_1.json"), kClaimed);
  EXPECT_EQ(this->raw("dead_1.json"), std::nullopt);
  EXPECT_TRUE(this->undo(out.inverse).ok());  // idempotent
  EXPECT_EQ(this->raw("work_1.json"), kClaimed);
}

TYPED_TEST(StoreSuite, DeadLetterRefusesToReplaceADeadRecord) {
  this->backend_.seed("work_1.json", kClaimed);
  this->backend_.seed("dead_1.json", "{}");
  RepairOutcome out = this->apply({{RepairOp::kDeadLetter, "work_1.json", "", "max_attempts"}});
  EXPECT_EQ(out.applied, 0);
  EXPECT_EQ(out.skipped, 1);
  ASSERT_EQ(out.notes.size(), 1u);
  EXPECT_THAT(out.notes[0], HasSubstr("dead_1.json exists"));
  EXPECT_EQ(this->raw("work_1.json"), kClaimed);
  EXPECT_EQ(this->raw("dead_1.json"), "{}");
}

TYPED_TEST(StoreSuite, RetryFailedAndUndo) {
  this->backend_.seed("completed_3.json", kFailed);
  EXPECT_EQ(this->snap().completed.at(0).retryable, true);
  RepairOutcome out = this->apply({{RepairOp::kRetryFailed, "completed_3.json", "", "retryable"}});
  ASSERT_EQ(out.applied, 1) << ::testing::PrintToString(out.notes);
  json work = this->doc("work_3.json");
  EXPECT_EQ(work["id"], "c3");
  EXPECT_EQ(work["status"], "pending");
  EXPECT_EQ(work["command"], json::array({"echo", "hi"}));
  EXPECT_EQ(work["attempts"], 1);
  EXPECT_EQ(work["max_attempts"], 3);
  EXPECT_EQ(work["priority"], 4);
  EXPECT_EQ(work["created"], "2025-07-01T12:00:00.000Z");
  EXPECT_EQ(work["retry_of"], "completed_3.json");
  EXPECT_EQ(this->raw("completed_3.json"), std::nullopt);
  EXPECT_EQ(this->raw("archive/retried/completed_3.json"), kFailed);
  ASSERT_EQ(out.inverse.size(), 1u);
  EXPECT_EQ(out.inverse[0]["archived"], "archive/retried/completed_3.json");
  Snapshot s = this->snap();
  EXPECT_TRUE(s.completed.empty());
  EXPECT_EQ(s.work.size(), 1u);
  EXPECT_EQ(s.archived.failed, 0);  // retried records do not count

  ASSERT_TRUE(this->undo(out.inverse).ok());
  EXPECT_EQ(this->raw("completed_3.json"), kFailed);
  EXPECT_EQ(this->raw("work_3.json"), std::nullopt);
  EXPECT_TRUE(this->raw("archive/undone/work_3.json").has_value());  // moved, never deleted
  EXPECT_TRUE(this->undo(out.inverse).ok());
  EXPECT_EQ(this->snap().completed.size(), 1u);
}

TYPED_TEST(StoreSuite, RetryFailedPreconditions) {
  this->backend_.seed("completed_3.json", kFailed);
  this->backend_.seed("work_3.json", "{}");
  this->backend_.seed("completed_4.json", R"({"status": "completed", "command": ["x"]})");
  RepairOutcome out = this->apply({{RepairOp::kRetryFailed, "completed_3.json", "", "r"},
                                   {RepairOp::kRetryFailed, "completed_4.json", "", "r"},
                                   {RepairOp::kRetryFailed, "work_3.json", "", "r"}});
  EXPECT_EQ(out.applied, 0);
  EXPECT_EQ(out.skipped, 3);
  ASSERT_EQ(out.notes.size(), 3u);
  EXPECT_THAT(out.notes[0], HasSubstr("work_3.json exists"));
  EXPECT_THAT(out.notes[1], HasSubstr("not a retryable failure"));
  EXPECT_THAT(out.notes[2], HasSubstr("not a completed file"));
  EXPECT_EQ(this->raw("work_3.json"), "{}");
  EXPECT_EQ(this->raw("completed_3.json"), kFailed);
}

TYPED_TEST(StoreSuite, ArchiveKeepsCountingAndUndoes) {
  this->seed_demo();
  this->backend_.seed("completed_9.json", R"({"status": "failed"})");
  this->backend_.seed("telemetry_9.json",
                      R"({"resourceSpans": [{"scopeSpans": [{"spans": [{}, {}, {}]}]}]})");
  RepairOutcome out = this->apply({{RepairOp::kArchive, "completed_0.json", "", "retention"},
                                   {RepairOp::kArchive, "completed_9.json", "", "retention"},
                                   {RepairOp::kArchive, "telemetry_9.json", "", "retention"},
                                   {RepairOp::kArchive, "work_0.json", "", "retention"}});
  EXPECT_EQ(out.applied, 3);
  EXPECT_EQ(out.skipped, 1);
  EXPECT_EQ(this->raw("completed_0.json"), std::nullopt);
  EXPECT_TRUE(this->raw("work_0.json").has_value());
  Snapshot s = this->snap();
  EXPECT_EQ(s.completed.size(), 2u);
  EXPECT_EQ(s.telemetry.size(), 4u);
  EXPECT_EQ(s.archived.succeeded, 1);
  EXPECT_EQ(s.archived.failed, 1);
  EXPECT_EQ(s.archived.telemetry, 3);

  ASSERT_TRUE(this->undo(out.inverse).ok());
  s = this->snap();
  EXPECT_EQ(s.completed.size(), 4u);
  EXPECT_EQ(s.telemetry.size(), 5u);
  EXPECT_EQ(s.archived.succeeded + s.archived.failed + s.archived.telemetry, 0);
  EXPECT_TRUE(this->undo(out.inverse).ok());
  EXPECT_EQ(this->snap().completed.size(), 4u);
}

TYPED_TEST(StoreSuite, FinalizeAndItsPreconditions) {
  auto& b = this->backend_;
  b.seed("work_1.json", R"({"status":"pending"})");
  b.seed("completed_1.json", R"({"status":"completed"})");
  b.seed("work_2.json", R"({"status":"claimed","claimed_by":"a"})");
  b.seed("completed_2.json", R"({"status":"failed","agent":"old"})");
  b.seed("work_3.json", R"({"status":"claimed","claimed_by":"a"})");
  b.seed("work_4.json", R"({"status":"claimed","claimed_by":"b"})");
  b.seed("completed_4.json", R"({"status":"completed","agent":"b"})");
  RepairOutcome out = this->apply({{RepairOp::kFinalize, "work_1.json", "", "already_completed"},
                                   {RepairOp::kFinalize, "work_2.json", "a", "already_completed"},
                                   {RepairOp::kFinalize, "work_3.json", "a", "already_completed"},
                                   {RepairOp::kFinalize, "work_4.json", "a", "already_completed"},
                                   {RepairOp::kFinalize, "completed_4.json", "", "x"},
                                   {RepairOp::kFinalize, "work_4.json", "b", "already_completed"}});
  EXPECT_EQ(out.applied, 1);
  ASSERT_EQ(out.notes.size(), 5u);
  EXPECT_THAT(out.notes[0], HasSubstr("status is now \"pending\""));
  EXPECT_THAT(out.notes[1], HasSubstr("failure by \"old\""));
  EXPECT_THAT(out.notes[2], HasSubstr("completed_3.json"));
  EXPECT_THAT(out.notes[3], HasSubstr("claimed by \"b\""));
  EXPECT_THAT(out.notes[4], HasSubstr("not a work file"));
  EXPECT_EQ(this->raw("work_4.json"), std::nullopt);
  EXPECT_EQ(this->raw("archive/done/work_4.json"), R"({"status":"claimed","claimed_by":"b"})");
  ASSERT_TRUE(this->undo(out.inverse).ok());
  EXPECT_EQ(this->raw("work_4.json"), R"({"status":"claimed","claimed_by":"b"})");
  EXPECT_EQ(this->raw("archive/done/work_4.json"), std::nullopt);
  EXPECT_TRUE(this->undo(out.inverse).ok());
}

TYPED_TEST(StoreSuite, UndoReplaysNewestFirstAcrossOps) {
  this->backend_.seed("work_1.json", kClaimed);
  this->backend_.seed("completed_3.json", kFailed);
  RepairOutcome out = this->apply({{RepairOp::kRequeue, "work_1.json", "", "lease_expired"},
                                   {RepairOp::kDeadLetter, "work_1.json", "", "max_work_age"},
                                   {RepairOp::kRetryFailed, "completed_3.json", "", "retryable"}});
  ASSERT_EQ(out.applied, 3) << ::testing::PrintToString(out.notes);
  ASSERT_TRUE(this->undo(out.inverse).ok());
  EXPECT_EQ(this->raw("work_1.json"), kClaimed);
  EXPECT_EQ(this->raw("completed_3.json"), kFailed);
  EXPECT_EQ(this->raw("dead_1.json"), std::nullopt);
  EXPECT_EQ(this->raw("work_3.json"), std::nullopt);
}

TYPED_TEST(StoreSuite, UndoRejectsMalformedInverse) {
  EXPECT_EQ(this->undo(json::object()).code(), ErrorCode::kInvalidArgument);
  EXPECT_FALSE(this->undo(json::array({{{"op", "explode"}}})).ok());
  EXPECT_FALSE(this->undo(json::array({{{"op", "restore"}, {"file", "../x"}}})).ok());
  EXPECT_FALSE(this->undo(json::array({{{"op", "unfinalize"},
                                        {"file", "work_1.json"},
                                        {"archived", "archive/retried/../../leader"}}}))
                   .ok());
}

// One batch of every op, some of them skipped: the same notes, records and snapshot in every
// backend, and one undo restores every record as it was.
TYPED_TEST(StoreSuite, ABatchOfRepairsAndItsUndo) {
  const std::map<std::string, std::string> records = {
      {"work_1.json", kClaimed},
      {"work_2.json", R"({"status": "pending"})"},
      {"work_4.json", R"({"status": "claimed", "claimed_by": "b", "attempts": 3})"},
      {"work_5.json", R"({"status": "claimed", "claimed_by": "a"})"},
      {"completed_5.json", R"({"status": "completed", "agent": "a"})"},
      {"completed_3.json", kFailed},
      {"completed_6.json", R"({"status": "completed"})"},
      {"telemetry_7.json", R"({"id": "7"})"}};
  for (const auto& [file, text] : records) this->backend_.seed(file, text);
  RepairOutcome out = this->apply({{RepairOp::kRequeue, "work_1.json", "agent_a", "orphaned_claim"},
                                   {RepairOp::kRequeue, "work_2.json", "", "lease_expired"},
                                   {RepairOp::kRequeue, "work_9.json", "", "lease_expired"},
                                   {RepairOp::kRequeue, "../work_1.json", "", "x"},
                                   {RepairOp::kDeadLetter, "work_4.json", "", "max_attempts"},
                                   {RepairOp::kRetryFailed, "completed_3.json", "", "retryable"},
                                   {RepairOp::kRetryFailed, "completed_6.json", "", "retryable"},
                                   {RepairOp::kFinalize, "work_5.json", "a", "already_completed"},
                                   {RepairOp::kArchive, "work_2.json", "", "retention"},
                                   {RepairOp::kArchive, "telemetry_7.json", "", "retention"}});
  EXPECT_EQ(out.applied, 5);
  EXPECT_EQ(out.skipped, 5);
  EXPECT_EQ(out.notes, (std::vector<std::string>{
                           "requeue work_2.json: skipped: status is now \"pending\"",
                           "requeue work_9.json: skipped: gone",
                           "requeue ../work_1.json: skipped: not a record file name",
                           "retry_failed completed_6.json: skipped: not a retryable failure",
                           "archive work_2.json: skipped: not a completed or telemetry file"}));
  EXPECT_EQ(out.inverse.size(), 5u);
  // The records written, byte for byte: the same text in every backend.
  EXPECT_EQ(this->raw("work_1.json"),
            R"({"id":"w1","status":"pending","attempts":2,"prompt":"p","extra":[1],)"
            R"("requeued_at":"2025-07-01T12:00:00.000Z","requeue_reason":"orphaned_claim"})");
  EXPECT_EQ(this->raw("dead_4.json"),
            R"({"status":"dead","claimed_by":"b","attempts":3,"dead_reason":"max_attempts",)"
            R"("dead_at":"2025-07-01T12:00:00.000Z"})");
  EXPECT_EQ(this->raw("work_3.json"),
            R"({"id":"c3","status":"pending","command":["echo","hi"],"attempts":1,)"
            R"("max_attempts":3,"priority":4,"created":"2025-07-01T12:00:00.000Z",)"
            R"("retry_of":"completed_3.json"})");
  EXPECT_EQ(this->raw("work_2.json"), records.at("work_2.json"));
  EXPECT_EQ(this->raw("work_4.json"), std::nullopt);
  EXPECT_EQ(this->raw("completed_3.json"), std::nullopt);
  EXPECT_EQ(this->raw("archive/retried/completed_3.json"), kFailed);
  EXPECT_EQ(this->raw("work_5.json"), std::nullopt);
  EXPECT_EQ(this->raw("archive/done/work_5.json"), records.at("work_5.json"));
  EXPECT_EQ(this->raw("completed_5.json"), records.at("completed_5.json"));
  EXPECT_EQ(this->raw("completed_6.json"), records.at("completed_6.json"));
  EXPECT_EQ(this->raw("telemetry_7.json"), std::nullopt);
  Snapshot s = this->snap();
  EXPECT_EQ(snapshot_summary(s), json::parse(R"({
    "agents": [],
    "work": [["w1", "work_1.json", "pending", 0, "-", "", "-", "-", 2, -1],
             ["2", "work_2.json", "pending", 0, "-", "", "-", "-", 0, -1],
             ["c3", "work_3.json", "pending", 4, "2025-07-01T12:00:00.000Z", "", "-", "-", 1, 3]],
    "completed": [["5", "completed_5.json", "completed", "-", false],
                  ["6", "completed_6.json", "completed", "-", false]],
    "telemetry": [], "rejected": [], "partial": false, "archived": [0, 0, 1]})"));

  ASSERT_TRUE(this->undo(out.inverse).ok());
  for (const auto& [file, text] : records) EXPECT_EQ(this->raw(file), text) << file;
  for (const char* file : {"dead_4.json", "work_3.json", "archive/retried/completed_3.json",
                           "archive/done/work_5.json"}) {
    EXPECT_EQ(this->raw(file), std::nullopt) << file;
  }
  EXPECT_TRUE(this->raw("archive/undone/work_3.json").has_value());  // moved, never deleted
  s = this->snap();
  EXPECT_EQ(s.archived.telemetry, 0);
  EXPECT_EQ(s.work.size(), 4u);
}

}  // namespace
}  // namespace dslmodel::store::suite

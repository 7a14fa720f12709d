// DirWorkQueue: what only the directory queue has (file names, priority words, huge numbers,
// temp files, a missing directory, process notes). The WorkQueue contract itself is
// work_queue_suite_test.cc, run over every backend.
#include "store/dir_work_queue.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "unit/store/work_queue_fixture.h"

namespace dslmodel::store {
namespace {

using json = nlohmann::json;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

TEST_F(DirWorkQueueTest, AddWritesNothingOnBadInputAndNeedsTheDirectory) {
  DirWorkQueue q = queue();
  NewWork bad;
  bad.id = "../x";
  bad.command = {"true"};
  EXPECT_EQ(q.add(bad).status().code(), ErrorCode::kInvalidArgument);
  EXPECT_TRUE(fs::is_empty(dir_));

  NewWork w;
  w.prompt = "p";
  DirWorkQueue missing(dir_ / "nope", {}, &clock_);
  Result<std::string> r = missing.add(w);
  EXPECT_EQ(r.status().code(), ErrorCode::kNotFound);
  EXPECT_THAT(r.status().message(), HasSubstr("coordination directory not found"));
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

// Every record is written through a temp file next to it (docs/metrics.md): none stays behind.
TEST_F(DirWorkQueueTest, HeartbeatAndTelemetryLeaveNoTempFile) {
  DirWorkQueue q = queue();
  AgentState a;
  a.id = "a1";
  a.pid = 42;
  ASSERT_TRUE(q.heartbeat(a).ok());
  ASSERT_TRUE(q.heartbeat(a).ok());  // replaces the record
  ASSERT_TRUE(q.record_telemetry("t1", {{"duration_ms", 3}}).ok());
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir_)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"agent_a1.json", "telemetry_t1.json"}))
      << "temp file left behind";
}

TEST_F(DirWorkQueueTest, ListAndClaimOfAMissingDirectoryAreNotFound) {
  DirWorkQueue missing(dir_ / "nope", {}, &clock_);
  EXPECT_EQ(missing.list("").status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(missing.claim_next("a1", 60s).status().code(), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace dslmodel::store

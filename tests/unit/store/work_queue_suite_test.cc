// The WorkQueue contract (include/dslmodel/work_queue.h), run over every backend.
//
// Each case is written once against the interface; work_queue_suite_fixture.h gives each backend
// an empty queue and a way to seed and read raw records. A third backend is a new fixture there
// and one more entry in kBackends below, nothing else (docs/testing.md, "Interface suites"). What
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

#include "unit/store/work_queue_suite_fixture.h"

namespace dslmodel::store::suite {
namespace {

using json = nlohmann::json;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

Completion ok_run() { return {true, 0, 5, "done\n", ""}; }

template <typename Fixture>
class WorkQueueSuite : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string why = backend_.unavailable(); !why.empty()) GTEST_SKIP() << why;
  }

  // Adds a `true` command item; returns its id ("" after a failed expectation).
  std::string add(WorkQueue& q, std::string id) {
    NewWork w;
    w.id = std::move(id);
    w.command = {"true"};
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

  Fixture backend_;
};

using kBackends = ::testing::Types<DirWorkQueueFixture, EtcdWorkQueueFixture>;

class BackendNames {
 public:
  template <typename T>
  static std::string GetName(int) {
    return T::kName;
  }
};

TYPED_TEST_SUITE(WorkQueueSuite, kBackends, BackendNames);

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

}  // namespace
}  // namespace dslmodel::store::suite

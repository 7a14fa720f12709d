// A temp coordination directory with a DirWorkQueue on it, and helpers for the queue's tests.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>

#include "store/dir_work_queue.h"
#include "unit/store/store_fixture.h"

namespace dslmodel::store {

class DirWorkQueueTest : public DirStoreTest {
 protected:
  DirWorkQueue queue() { return DirWorkQueue(dir_, {}, &clock_); }

  // Adds a `true` command item; returns its id ("" after a failed expectation).
  std::string add(DirWorkQueue& q, std::string id, std::int64_t priority = 0,
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
  WorkItem claim(DirWorkQueue& q, const std::string& agent = "a1") {
    Result<std::optional<WorkItem>> r = q.claim_next(agent, std::chrono::seconds(60));
    EXPECT_TRUE(r.ok()) << r.status().message();
    EXPECT_TRUE(r.ok() && r->has_value());
    return r.ok() && r->has_value() ? **r : WorkItem{};
  }
  nlohmann::json doc(const fs::path& rel) {
    return nlohmann::json::parse(read(rel), nullptr, false);
  }
  bool has(const fs::path& rel) { return fs::exists(dir_ / rel); }
  static Completion ok_run() { return {true, 0, 5, "done\n", ""}; }
  static Completion bad_run() { return {false, 2, 7, "oops\n", "exit code 2"}; }
};

}  // namespace dslmodel::store

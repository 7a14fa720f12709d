// Many processes on one directory: 50 agents race over 1,000 items while a reader checks every
// record it sees; and the claim-and-finish throughput of the store, with its fsync costs.
#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "platform/files.h"
#include "store/dir_work_queue.h"
#include "store/work_item.h"
#include "unit/store/store_fixture.h"

namespace dslmodel::store {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

// What one agent process did, sent to the parent through a pipe (8-byte writes are atomic).
struct AgentReport {
  std::int64_t completed = 0;
  std::int64_t errors = 0;
};

// The body of one agent process: claims and finishes until nothing is pending.
AgentReport run_agent(const fs::path& dir, const std::string& id, bool telemetry) {
  DirWorkQueue q(dir);
  AgentState self;
  self.id = id;
  self.pid = ::getpid();
  self.host = "test";
  AgentReport rep;
  if (!q.heartbeat(self).ok()) ++rep.errors;
  for (std::int64_t n = 0;; ++n) {
    Result<std::optional<WorkItem>> w = q.claim_next(id, 60s);
    if (!w.ok()) {
      ++rep.errors;
      break;
    }
    if (!w->has_value()) break;
    Result<FinishOutcome> fin = q.finish(**w, id, Completion{true, 0, 0, "", ""});
    if (fin.ok() && *fin == FinishOutcome::kCompleted) {
      ++rep.completed;
    } else {
      ++rep.errors;
    }
    if (telemetry && !q.record_telemetry((*w)->id, {{"agent", id}, {"ok", true}}).ok()) {
      ++rep.errors;
    }
    if (n % 25 == 0) {
      self.status = "busy";
      if (!q.heartbeat(self).ok()) ++rep.errors;
    }
  }
  self.status = "stopped";
  if (!q.heartbeat(self).ok()) ++rep.errors;
  return rep;
}

// Forks `n` agent processes; returns their pids. Each writes one AgentReport to `fd`.
std::vector<pid_t> spawn_agents(const fs::path& dir, int n, int fd, bool telemetry) {
  std::vector<pid_t> pids;
  for (int i = 0; i < n; ++i) {
    pid_t pid = ::fork();
    if (pid == 0) {
      AgentReport rep = run_agent(dir, "agent-" + std::to_string(i), telemetry);
      bool sent = ::write(fd, &rep, sizeof rep) == static_cast<ssize_t>(sizeof rep);
      ::_exit(sent ? 0 : 3);
    }
    if (pid > 0) pids.push_back(pid);
  }
  return pids;
}

// Waits for every pid and sums the reports; counts children that did not exit 0.
AgentReport collect(const std::vector<pid_t>& pids, int fd, int& bad_exits) {
  bad_exits = 0;
  for (pid_t pid : pids) {
    int status = 0;
    if (::waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      ++bad_exits;
    }
  }
  AgentReport total;
  for (std::size_t i = 0; i < pids.size(); ++i) {
    AgentReport rep;
    if (::read(fd, &rep, sizeof rep) != static_cast<ssize_t>(sizeof rep)) break;
    total.completed += rep.completed;
    total.errors += rep.errors;
  }
  return total;
}

bool is_record_name(std::string_view name) {
  if (!name.ends_with(".json")) return false;
  for (std::string_view prefix : {"work_", "completed_", "agent_", "telemetry_"}) {
    if (name.starts_with(prefix)) return true;
  }
  return false;
}

// Lists the directory over and over, parsing every record it sees, until told to stop.
struct TornReader {
  std::atomic<bool> stop{false};
  std::int64_t files_read = 0;
  std::int64_t passes = 0;
  std::vector<std::string> torn;

  void run(const fs::path& dir) {
    std::string buf;
    while (!stop.load()) {
      int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      DIR* d = ::fdopendir(fd);
      if (d == nullptr) return;
      for (dirent* e = ::readdir(d); e != nullptr; e = ::readdir(d)) {
        if (!is_record_name(e->d_name)) continue;
        Status s = platform::read_file_at(fd, e->d_name, 1 << 20, buf);
        if (s.code() == ErrorCode::kNotFound) continue;  // renamed away since the listing
        ++files_read;
        json doc = json::parse(buf, nullptr, false);
        if (!s.ok() || !doc.is_object()) torn.push_back(std::string(e->d_name) + ": " + buf);
      }
      ::closedir(d);
      ++passes;
    }
  }
};

class ClaimRaceTest : public DirStoreTest {
 protected:
  // What DirWorkQueue::add writes, without its fsyncs (set-up time is not under test).
  static void add_items(const fs::path& dir, int n) {
    for (int i = 0; i < n; ++i) {
      json w = {{"id", std::to_string(i)}, {"status", "pending"}, {"priority", i % 3},
                {"attempts", 0},           {"max_attempts", 3},   {"command", {"true"}}};
      ASSERT_TRUE(
          detail::write_replace(dir / fmt::format("work_{}.json", i), w.dump(), detail::Sync::kNone)
              .ok());
    }
  }
  std::vector<std::string> names(const fs::path& rel, std::string_view prefix) {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir_ / rel, ec)) {
      std::string n = e.path().filename().string();
      if (n.starts_with(prefix)) out.push_back(n);
    }
    return out;
  }
};

TEST_F(ClaimRaceTest, FiftyAgentsCompleteAThousandItemsExactlyOnce) {
  constexpr int kItems = 1000;
  constexpr int kAgents = 50;
  add_items(dir_, kItems);
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  const auto start = SteadyClock::now();
  std::vector<pid_t> pids = spawn_agents(dir_, kAgents, pipe_fds[1], /*telemetry=*/true);
  ASSERT_EQ(pids.size(), static_cast<std::size_t>(kAgents));
  TornReader reader;
  std::thread reading([&] { reader.run(dir_); });
  int bad_exits = 0;
  AgentReport total = collect(pids, pipe_fds[0], bad_exits);
  reader.stop = true;
  reading.join();
  const double secs = std::chrono::duration<double>(SteadyClock::now() - start).count();
  ::close(pipe_fds[0]);
  ::close(pipe_fds[1]);

  EXPECT_EQ(bad_exits, 0);
  EXPECT_EQ(total.errors, 0);
  EXPECT_EQ(total.completed, kItems);
  EXPECT_TRUE(reader.torn.empty()) << reader.torn.front();
  EXPECT_GT(reader.files_read, 0);
  EXPECT_TRUE(names("", "work_").empty());
  std::vector<std::string> done = names("", "completed_");
  std::set<std::string> ids;
  for (const std::string& n : done) {
    json c = json::parse(read(n), nullptr, false);
    ASSERT_TRUE(c.is_object()) << n;
    EXPECT_EQ(c["status"], "completed");
    EXPECT_EQ(c["attempts"], 1) << n;
    ids.insert(c["id"].get<std::string>());
  }
  EXPECT_EQ(done.size(), static_cast<std::size_t>(kItems));
  EXPECT_EQ(ids.size(), static_cast<std::size_t>(kItems));
  EXPECT_EQ(names("archive/done", "work_").size(), static_cast<std::size_t>(kItems));
  Snapshot s = snap();
  EXPECT_TRUE(s.rejected.empty());
  EXPECT_EQ(s.completed.size(), static_cast<std::size_t>(kItems));
  EXPECT_EQ(s.telemetry.size(), static_cast<std::size_t>(kItems));
  EXPECT_EQ(s.agents.size(), static_cast<std::size_t>(kAgents));
  std::cout << "[ race    ] " << kAgents << " agents, " << kItems << " items in " << secs
            << " s; reader: " << reader.passes << " passes, " << reader.files_read
            << " records parsed, 0 torn\n";
}

// Claim + finish (+ one telemetry record) per item, with `agents` processes.
double items_per_second(const fs::path& dir, int items, int agents, bool telemetry) {
  int pipe_fds[2];
  if (::pipe(pipe_fds) != 0) return 0;
  const auto start = SteadyClock::now();
  std::vector<pid_t> pids = spawn_agents(dir, agents, pipe_fds[1], telemetry);
  int bad_exits = 0;
  AgentReport total = collect(pids, pipe_fds[0], bad_exits);
  const double secs = std::chrono::duration<double>(SteadyClock::now() - start).count();
  ::close(pipe_fds[0]);
  ::close(pipe_fds[1]);
  if (bad_exits != 0 || total.errors != 0 || total.completed != items) return 0;
  return items / secs;
}

// CPU time (user + system) of every child waited for so far, in milliseconds.
double children_cpu_ms() {
  rusage ru{};
  ::getrusage(RUSAGE_CHILDREN, &ru);
  auto ms = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) * 1000.0 + static_cast<double>(t.tv_usec) / 1000.0;
  };
  return ms(ru.ru_utime) + ms(ru.ru_stime);
}

// Milliseconds per call of `write` over `n` calls.
template <typename F>
double ms_per_call(int n, F&& write) {
  const auto start = SteadyClock::now();
  for (int i = 0; i < n; ++i) write(i);
  return std::chrono::duration<double, std::milli>(SteadyClock::now() - start).count() / n;
}

TEST_F(ClaimRaceTest, ThroughputAndFsyncCosts) {
  constexpr int kItems = 400;
  const std::string record(200, 'x');
  const double synced = ms_per_call(200, [&](int i) {
    (void)platform::atomic_write_file(dir_ / ("s" + std::to_string(i % 10)), record);
  });
  const double data_only = ms_per_call(200, [&](int i) {
    (void)detail::write_replace(dir_ / ("d" + std::to_string(i % 10)), record, detail::Sync::kData);
  });
  const double unsynced = ms_per_call(200, [&](int i) {
    (void)detail::write_replace(dir_ / ("u" + std::to_string(i % 10)), record, detail::Sync::kNone);
  });
  std::cout << "[ fsync   ] atomic replace: file+dir fsync " << synced << " ms, file fsync "
            << data_only << " ms, none " << unsynced << " ms\n";
  for (int agents : {1, 4}) {
    for (bool telemetry : {false, true}) {
      const fs::path run = dir_ / fmt::format("run{}{}", agents, telemetry ? "t" : "");
      fs::create_directories(run);
      add_items(run, kItems);
      const double cpu_before = children_cpu_ms();
      const double rate = items_per_second(run, kItems, agents, telemetry);
      const double cpu_ms = (children_cpu_ms() - cpu_before) / kItems;
      EXPECT_GT(rate, 50.0) << agents << " agents";
      std::cout << "[ speed   ] " << agents << " agent(s), claim+finish"
                << (telemetry ? "+telemetry" : "") << ": " << rate << " items/s, "
                << 1000.0 * agents / rate << " ms per item per agent (wall), " << cpu_ms
                << " ms CPU per item\n";
    }
  }
}

}  // namespace
}  // namespace dslmodel::store

// The soak benchmark's world (docs/performance.md, "Soak"): a fake clock the engine reads, an
// actuator that only records the agent count it is asked for, and a workload that writes the
// records real agents write (agent_, work_, completed_, telemetry_) into a real coordination
// directory between the engine's cycles. Single-threaded except SoakClock, which is safe to read
// from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "dslmodel/actuator.h"
#include "dslmodel/clock.h"
#include "dslmodel/status.h"

namespace soak {

using dslmodel::TimePoint;

// Wall time is origin + what advance() added; durations use the machine's steady clock, so the
// journal's duration_ms stay real.
class SoakClock final : public dslmodel::Clock {
 public:
  explicit SoakClock(TimePoint origin) : origin_(origin) {}
  TimePoint now() const override { return origin_ + std::chrono::milliseconds(elapsed_ms_.load()); }
  std::chrono::steady_clock::time_point steady_now() const override {
    return std::chrono::steady_clock::now();
  }
  void advance(std::chrono::milliseconds d) { elapsed_ms_ += d.count(); }
  TimePoint origin() const { return origin_; }
  double elapsed_s() const { return static_cast<double>(elapsed_ms_.load()) / 1000.0; }

 private:
  TimePoint origin_;
  std::atomic<std::int64_t> elapsed_ms_{0};
};

// What the actuator was told; the workload starts and stops agents to match `target`.
struct Desired {
  int target = 0;
  int fail_every = 25;  // every this many scale() calls, one fails as an unreachable orchestrator
  std::int64_t calls = 0;
  std::int64_t scalings = 0;
  std::int64_t failures = 0;
};

class SoakActuator final : public dslmodel::Actuator {
 public:
  explicit SoakActuator(Desired* desired) : desired_(desired) {}
  dslmodel::Result<dslmodel::ActuationResult> scale(const dslmodel::ScaleRequest& r) override;
  dslmodel::Result<dslmodel::ActuationResult> undo(const nlohmann::json& inverse) override;
  std::string name() const override { return "soak"; }

 private:
  Desired* desired_;
};

struct WorkloadCounts {
  std::int64_t added = 0;
  std::int64_t completed = 0;
  std::int64_t failed = 0;
  std::int64_t crashes = 0;
  std::int64_t requeued_seen = 0;  // claims of crashed agents the engine put back in the queue
  std::int64_t retries_seen = 0;   // work items the engine created from retryable failures
};

// Agents, work and completions over simulated time. Arrivals follow a daily wave with a burst
// every three hours; service times are 5 to 40 s; 3% of items fail (retryable); an agent crashes
// about every two hours, leaving its claim and a stale heartbeat, and comes back ten minutes later.
class Workload {
 public:
  Workload(std::filesystem::path dir, const SoakClock& clock, std::uint32_t seed);

  // Completed and telemetry records over the `seconds` before now, at the workload's mean rate,
  // so that the first cycles already see a directory as full as a steady state keeps it.
  dslmodel::Status seed_history(double seconds);
  // Everything that happened since the last step, up to the clock's now: agents started or
  // stopped to match `target`, arrivals, claims, completions, crashes, heartbeats.
  dslmodel::Status step(int target);

  const WorkloadCounts& counts() const { return counts_; }
  int live_agents() const;

 private:
  struct Item {
    std::string id;
    int priority = 0;
    double created_s = 0;
    std::int64_t attempts = 0;
    bool claimed = false;
    std::string holder;  // the crashed agent still named in its claim
    enum class Written { kNothing, kPending, kClaimed } written = Written::kNothing;
  };
  struct Agent {
    std::string id;
    double created_s = 0;
    double free_at_s = 0;    // when its current item is done
    std::string item;        // empty: idle
    double claimed_s = 0;    // of the current item
    double down_until = -1;  // crashed until then
    bool stopping = false;
  };

  dslmodel::Status resync();
  void arrivals(double from_s, double to_s);
  void add_item(double at_s, int priority);
  dslmodel::Status scale_agents(int target);
  dslmodel::Status run_agents(double now_s);
  dslmodel::Status run_agent(Agent& a, double now_s);
  dslmodel::Status finish(Agent& a, const Item& item);
  void maybe_crash(double now_s);
  dslmodel::Status heartbeats(double now_s);
  dslmodel::Status write(const std::string& name, const std::string& body);
  dslmodel::Status write_work(Item& item, const Agent* claim);
  std::string iso(double s) const;

  std::filesystem::path dir_;
  std::filesystem::path staging_;
  const SoakClock& clock_;
  TimePoint origin_;
  std::mt19937 rng_;
  double last_s_ = 0;
  std::int64_t next_item_ = 1;
  std::map<std::string, Item> items_;  // queued: pending or claimed
  std::vector<Agent> agents_;
  WorkloadCounts counts_;
  bool crash_due_ = false;  // a crash waits for a busy agent
};

// Sums the sizes of the regular files under `root` (0 when it does not exist).
std::uintmax_t tree_bytes(const std::filesystem::path& root);
// Bytes and lines of the journal files in `state_dir` (every file whose name starts with
// "journal", so segments count too).
struct JournalSize {
  std::uintmax_t bytes = 0;
  std::int64_t lines = 0;
  int files = 0;
};
JournalSize journal_size(const std::filesystem::path& state_dir);
// A field of /proc/self/status in kB ("VmRSS", "VmHWM": the peak), -1 when unreadable.
std::int64_t status_kb(std::string_view field);
inline std::int64_t rss_kb() { return status_kb("VmRSS"); }

}  // namespace soak

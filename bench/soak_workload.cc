// The soak benchmark's workload (docs/performance.md, "Soak").
#include "soak_workload.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <numbers>
#include <set>
#include <string_view>
#include <system_error>

#include "dslmodel/time.h"

namespace soak {
namespace {

namespace fs = std::filesystem;
using dslmodel::ErrorCode;
using dslmodel::Status;

constexpr double kMeanRate = 0.03;        // items per second, averaged over a day
constexpr double kDay = 86400.0;          // the arrival wave's period
constexpr double kBurstEvery = 3 * 3600;  // a burst of kBurstItems high-priority items
constexpr int kBurstItems = 40;
constexpr double kFailShare = 0.03;
constexpr double kCrashEvery = 2 * 3600;  // mean time between agent crashes
constexpr double kDownFor = 600;          // a crashed agent's supervisor restarts it after this
constexpr std::int64_t kMaxAttempts = 3;

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

Status io_error(const std::string& what, const std::error_code& ec) {
  return {ErrorCode::kIo, what + ": " + ec.message()};
}

}  // namespace

dslmodel::Result<dslmodel::ActuationResult> SoakActuator::scale(const dslmodel::ScaleRequest& r) {
  if (++desired_->calls % desired_->fail_every == 0) {
    ++desired_->failures;
    return Status(ErrorCode::kUnavailable, "orchestrator unreachable");
  }
  dslmodel::ActuationResult out;
  out.summary = fmt::format("scaled to {} agents", r.target_agents);
  out.inverse = {{"target_agents", desired_->target}};
  desired_->target = r.target_agents;
  ++desired_->scalings;
  return out;
}

dslmodel::Result<dslmodel::ActuationResult> SoakActuator::undo(const nlohmann::json& inverse) {
  desired_->target = inverse.value("target_agents", desired_->target);
  dslmodel::ActuationResult out;
  out.summary = fmt::format("scaled back to {} agents", desired_->target);
  return out;
}

Workload::Workload(fs::path dir, const SoakClock& clock, std::uint32_t seed)
    : dir_(std::move(dir)),
      staging_(dir_.parent_path() / "staging"),
      clock_(clock),
      origin_(clock.origin()),
      rng_(seed) {}

std::string Workload::iso(double s) const {
  return dslmodel::format_iso8601(origin_ + std::chrono::milliseconds(std::llround(s * 1000.0)));
}

Status Workload::write(const std::string& name, const std::string& body) {
  const fs::path tmp = staging_ / name;
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << body;
    if (!out) return {ErrorCode::kIo, "cannot write " + tmp.string()};
  }
  std::error_code ec;
  fs::rename(tmp, dir_ / name, ec);
  return ec ? io_error("rename " + name, ec) : Status::Ok();
}

Status Workload::write_work(Item& item, const Agent* claim) {
  const auto want = claim != nullptr ? Item::Written::kClaimed : Item::Written::kPending;
  if (item.written == want) return Status::Ok();
  item.written = want;
  nlohmann::json j = {{"id", item.id},
                      {"status", claim != nullptr ? "claimed" : "pending"},
                      {"priority", item.priority},
                      {"created", iso(item.created_s)},
                      {"command", {"true"}},
                      {"attempts", item.attempts},
                      {"max_attempts", kMaxAttempts}};
  if (claim != nullptr) {
    j["claimed_by"] = claim->id;
    j["claimed_at"] = iso(claim->claimed_s);
    j["lease_expires"] = iso(claim->free_at_s + 120);
  }
  return write("work_" + item.id + ".json", j.dump());
}

Status Workload::seed_history(double seconds) {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (!ec) fs::create_directories(staging_, ec);
  if (ec) return io_error("create " + dir_.string(), ec);
  std::uniform_real_distribution<double> service(5.0, 40.0);
  const int n = static_cast<int>(seconds * kMeanRate);
  for (int i = 0; i < n; ++i) {
    const double finished = -seconds + seconds * (i + 0.5) / n;
    const double took = service(rng_);
    const std::string id = fmt::format("h{}", i);
    const nlohmann::json done = {{"id", id},
                                 {"status", "completed"},
                                 {"agent", "soak-0"},
                                 {"created", iso(finished - took - 1)},
                                 {"claimed_at", iso(finished - took)},
                                 {"finished", iso(finished)},
                                 {"duration_ms", std::llround(took * 1000)},
                                 {"exit_code", 0}};
    if (Status s = write("completed_" + id + ".json", done.dump()); !s.ok()) return s;
    const nlohmann::json tel = {{"id", id}, {"timestamp", iso(finished)}, {"name", "work_item"}};
    if (Status s = write("telemetry_" + id + ".json", tel.dump()); !s.ok()) return s;
  }
  return Status::Ok();
}

int Workload::live_agents() const {
  return static_cast<int>(
      std::count_if(agents_.begin(), agents_.end(), [](const Agent& a) { return !a.stopping; }));
}

// Lines the in-memory queue up with the directory: the engine requeues the claims of crashed
// agents, dead-letters items and turns retryable failures into new work.
Status Workload::resync() {
  std::set<std::string> present;
  std::error_code ec;
  for (fs::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.starts_with("work_") && name.ends_with(".json")) {
      present.insert(name.substr(5, name.size() - 10));
    }
  }
  if (ec) return io_error("list " + dir_.string(), ec);
  std::erase_if(items_, [&](const auto& kv) { return !present.contains(kv.first); });
  for (const std::string& id : present) {
    auto it = items_.find(id);
    if (it != items_.end() && it->second.holder.empty()) continue;
    const auto j =
        nlohmann::json::parse(read_text(dir_ / ("work_" + id + ".json")), nullptr, false);
    if (!j.is_object() || j.value("status", "") != "pending") continue;
    if (it == items_.end()) {
      ++counts_.retries_seen;
      Item item;
      item.id = id;
      item.created_s = clock_.elapsed_s();
      it = items_.emplace(id, std::move(item)).first;
    } else {
      ++counts_.requeued_seen;
    }
    it->second.claimed = false;
    it->second.holder.clear();
    it->second.written = Item::Written::kPending;
    it->second.priority = j.value("priority", 0);
    it->second.attempts = j.value("attempts", std::int64_t{0});
  }
  return Status::Ok();
}

void Workload::add_item(double at_s, int priority) {
  Item item;
  item.id = fmt::format("w{}", next_item_++);
  item.priority = priority;
  item.created_s = at_s;
  items_.emplace(item.id, std::move(item));
  ++counts_.added;
}

void Workload::arrivals(double from_s, double to_s) {
  const double mid = (from_s + to_s) / 2;
  const double rate = kMeanRate * (1 + 0.8 * std::sin(2 * std::numbers::pi * mid / kDay));
  std::poisson_distribution<int> count(std::max(0.0, rate * (to_s - from_s)));
  std::uniform_real_distribution<double> when(from_s, to_s);
  std::vector<double> at(static_cast<std::size_t>(count(rng_)));
  for (double& t : at) t = when(rng_);
  std::sort(at.begin(), at.end());
  for (double t : at) add_item(t, 0);
  const double burst = std::floor(to_s / kBurstEvery) * kBurstEvery;
  if (burst > from_s && burst <= to_s) {
    for (int i = 0; i < kBurstItems; ++i) add_item(burst, 5);
  }
}

// Starts agents in free slots (a stopped agent's slot is reused, as a supervisor does) or stops
// them: crashed ones first, then idle ones; busy ones finish their item first.
Status Workload::scale_agents(int target) {
  while (live_agents() < target) {
    int slot = 1;
    while (std::any_of(agents_.begin(), agents_.end(),
                       [&](const Agent& a) { return a.id == fmt::format("soak-{}", slot); })) {
      ++slot;
    }
    Agent a;
    a.id = fmt::format("soak-{}", slot);
    a.created_s = a.free_at_s = clock_.elapsed_s();
    agents_.push_back(std::move(a));
  }
  for (int excess = live_agents() - target; excess > 0; --excess) {
    auto pick = [&](auto pred) {
      return std::find_if(agents_.begin(), agents_.end(),
                          [&](const Agent& a) { return !a.stopping && pred(a); });
    };
    auto it = pick([](const Agent& a) { return a.down_until >= 0; });
    if (it == agents_.end()) it = pick([](const Agent& a) { return a.item.empty(); });
    if (it == agents_.end()) it = pick([](const Agent&) { return true; });
    it->stopping = true;
  }
  return Status::Ok();
}

Status Workload::finish(Agent& a, const Item& item) {
  const bool failed = std::bernoulli_distribution(kFailShare)(rng_);
  const std::int64_t attempts = item.attempts + 1;
  const nlohmann::json done = {{"id", item.id},
                               {"status", failed ? "failed" : "completed"},
                               {"agent", a.id},
                               {"created", iso(item.created_s)},
                               {"claimed_at", iso(a.claimed_s)},
                               {"finished", iso(a.free_at_s)},
                               {"duration_ms", std::llround((a.free_at_s - a.claimed_s) * 1000)},
                               {"exit_code", failed ? 1 : 0},
                               {"command", {"true"}},
                               {"attempts", attempts},
                               {"max_attempts", kMaxAttempts}};
  ++(failed ? counts_.failed : counts_.completed);
  if (Status s = write("completed_" + item.id + ".json", done.dump()); !s.ok()) return s;
  const nlohmann::json tel = {{"id", fmt::format("{}-{}", item.id, attempts)},
                              {"timestamp", iso(a.free_at_s)},
                              {"name", "work_item"}};
  if (Status s = write(fmt::format("telemetry_{}-{}.json", item.id, attempts), tel.dump());
      !s.ok()) {
    return s;
  }
  std::error_code ec;
  fs::remove(dir_ / ("work_" + item.id + ".json"), ec);
  return Status::Ok();
}

// Runs one agent up to now: finishes its item when due, claims the next (highest priority,
// then oldest), and so on; an item still running at now is written as claimed.
Status Workload::run_agent(Agent& a, double now_s) {
  std::uniform_real_distribution<double> service(5.0, 40.0);
  for (;;) {
    if (!a.item.empty()) {
      auto it = items_.find(a.item);
      if (it == items_.end()) {  // its file is gone (the engine gave it up): drop it
        a.item.clear();
        continue;
      }
      if (a.free_at_s > now_s) return write_work(it->second, &a);
      if (Status s = finish(a, it->second); !s.ok()) return s;
      items_.erase(it);
      a.item.clear();
    }
    if (a.stopping) return Status::Ok();
    Item* next = nullptr;
    for (auto& [id, item] : items_) {
      if (item.claimed) continue;
      if (next == nullptr || item.priority > next->priority ||
          (item.priority == next->priority && item.created_s < next->created_s)) {
        next = &item;
      }
    }
    if (next == nullptr) return Status::Ok();
    next->claimed = true;
    a.item = next->id;
    a.claimed_s = std::max(a.free_at_s, next->created_s);
    a.free_at_s = a.claimed_s + service(rng_);
  }
}

Status Workload::run_agents(double now_s) {
  for (Agent& a : agents_) {
    if (a.down_until >= 0) {
      if (now_s < a.down_until) continue;
      a.down_until = -1;  // restarted by its supervisor, with nothing in hand
      a.created_s = a.free_at_s = now_s;
    }
    if (Status s = run_agent(a, now_s); !s.ok()) return s;
  }
  return Status::Ok();
}

// A busy agent dies with its claim held and its heartbeat frozen.
void Workload::maybe_crash(double now_s) {
  const double p = std::min(1.0, (now_s - last_s_) / kCrashEvery);
  crash_due_ = crash_due_ || std::bernoulli_distribution(p)(rng_);
  if (!crash_due_) return;
  for (Agent& a : agents_) {
    if (a.stopping || a.down_until >= 0 || a.item.empty()) continue;
    if (auto it = items_.find(a.item); it != items_.end()) it->second.holder = a.id;
    a.item.clear();
    a.down_until = now_s + kDownFor;
    ++counts_.crashes;
    crash_due_ = false;
    return;
  }
}

Status Workload::heartbeats(double now_s) {
  for (const Agent& a : agents_) {
    if (a.down_until >= 0) continue;
    const bool gone = a.stopping && a.item.empty();
    const nlohmann::json j = {{"id", a.id},
                              {"status", gone             ? "stopped"
                                         : a.item.empty() ? "idle"
                                                          : "busy"},
                              {"heartbeat", iso(now_s)},
                              {"created", iso(a.created_s)},
                              {"host", "soak"},
                              {"current_work", a.item}};
    if (Status s = write("agent_" + a.id + ".json", j.dump()); !s.ok()) return s;
  }
  std::erase_if(agents_, [](const Agent& a) { return a.stopping && a.item.empty(); });
  return Status::Ok();
}

Status Workload::step(int target) {
  const double now_s = clock_.elapsed_s();
  if (Status s = resync(); !s.ok()) return s;
  if (Status s = scale_agents(target); !s.ok()) return s;
  arrivals(last_s_, now_s);
  maybe_crash(now_s);
  if (Status s = run_agents(now_s); !s.ok()) return s;
  for (auto& [id, item] : items_) {
    if (!item.claimed) {
      if (Status s = write_work(item, nullptr); !s.ok()) return s;
    }
  }
  last_s_ = now_s;
  return heartbeats(now_s);
}

std::uintmax_t tree_bytes(const fs::path& root) {
  std::uintmax_t sum = 0;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file(ec)) sum += it->file_size(ec);
  }
  return sum;
}

JournalSize journal_size(const fs::path& state_dir) {
  JournalSize out;
  std::error_code ec;
  for (fs::directory_iterator it(state_dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (!it->is_regular_file(ec) || !it->path().filename().string().starts_with("journal")) {
      continue;
    }
    const std::string text = read_text(it->path());
    out.bytes += text.size();
    out.lines += std::count(text.begin(), text.end(), '\n');
    ++out.files;
  }
  return out;
}

std::int64_t status_kb(std::string_view field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() > field.size() && line.starts_with(field) && line[field.size()] == ':') {
      return std::atoll(line.c_str() + field.size() + 1);
    }
  }
  return -1;
}

}  // namespace soak

// Soak (docs/performance.md, "Soak"): the real engine loop, with the real directory store and
// file journal on a temporary coordination directory, driven for a long simulated time by a fake
// clock and a workload (bench/soak_workload.h). Reports whether a cycle's cost, the process's
// memory and the engine state in .dsl/ stay flat as history grows.
#include <fmt/format.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dslmodel/config.h"
#include "dslmodel/engine.h"
#include "dslmodel/factory.h"
#include "soak_workload.h"

namespace {

namespace fs = std::filesystem;
using SteadyClock = std::chrono::steady_clock;

struct Options {
  std::int64_t cycles = 5760;  // 2 simulated days: whole days compare the same hours
  double interval_s = 30;      // `dsl auto loop`'s default
  int window = 0;              // cycles compared at each end; 0: a tenth of the run, at most 200
  double progress_s = 5;
  double retention_s = 3600;  // policy.retention: completed records older are archived
  std::uint32_t seed = 1;
  bool actuator = true;  // false: no actuator, every scale decision is skipped (no_actuator)
  double budget_s = 0;   // stop after this much wall time (0: never), and say so
  std::string dir;       // empty: a new temporary directory, removed at the end
};

int usage() {
  fmt::print(stderr,
             "usage: dsl_soak_bench [--cycles N | --days D | --long] [--interval S] [--window K]\n"
             "                      [--actuator model|none] [--retention S] [--seed N]\n"
             "                      [--budget S] [--progress S] [--dir PATH]\n"
             "  --long is --days 30 (at the default 30 s interval: 86,400 cycles)\n");
  return 2;
}

std::optional<Options> parse(int argc, char** argv) {
  Options o;
  std::optional<double> days;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--long") {
      days = 30;
      continue;
    }
    if (i + 1 >= argc) return std::nullopt;
    const char* v = argv[++i];
    if (a == "--cycles") {
      o.cycles = std::atoll(v);
    } else if (a == "--days") {
      days = std::atof(v);
    } else if (a == "--interval") {
      o.interval_s = std::atof(v);
    } else if (a == "--window") {
      o.window = std::atoi(v);
    } else if (a == "--retention") {
      o.retention_s = std::atof(v);
    } else if (a == "--seed") {
      o.seed = static_cast<std::uint32_t>(std::atoll(v));
    } else if (a == "--progress") {
      o.progress_s = std::atof(v);
    } else if (a == "--dir") {
      o.dir = v;
    } else if (a == "--actuator" && (std::string(v) == "model" || std::string(v) == "none")) {
      o.actuator = std::string(v) == "model";
    } else if (a == "--budget") {
      o.budget_s = std::atof(v);
    } else {
      return std::nullopt;
    }
  }
  if (o.interval_s <= 0) return std::nullopt;
  if (days) o.cycles = static_cast<std::int64_t>(*days * 86400 / o.interval_s);
  if (o.cycles < 2) return std::nullopt;
  if (o.window <= 0) o.window = static_cast<int>(std::clamp<std::int64_t>(o.cycles / 10, 1, 200));
  o.window = static_cast<int>(std::min<std::int64_t>(o.window, o.cycles / 2));
  return o;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
  return v[v.size() / 2];
}

// The bound on .dsl/ the configuration sets: the journal's retention (its files together at
// most journal.max_bytes once the active file is sealed, plus the active file itself) and a
// slack for the small state files beside it (the index, the lock, archive totals).
std::optional<std::uintmax_t> configured_bound(const dslmodel::Config& c) {
  constexpr std::uintmax_t kSlack = std::uintmax_t{256} << 10;
  return c.journal.max_bytes + c.journal.segment_bytes + kSlack;
}

// One row of the table: where the run stands.
struct Checkpoint {
  std::int64_t cycle = 0;
  double sim_s = 0;
  double cycle_ms = 0;  // median over the window before it
  std::int64_t rss_kb = 0;
  std::uintmax_t state_bytes = 0;  // .dsl/
  soak::JournalSize journal;
  std::uintmax_t dir_bytes = 0;  // the whole coordination directory, archive/ and .dsl/ included
};

std::string sim_time(double s) {
  return fmt::format("{}d {:02}h", static_cast<int>(s / 86400),
                     static_cast<int>(std::fmod(s, 86400) / 3600));
}

void print_row(const Checkpoint& c) {
  fmt::print("{:>8} {:>9} {:>10.2f} {:>8.1f} {:>10.1f} {:>9} {:>10.1f} {:>10.1f}\n", c.cycle,
             sim_time(c.sim_s), c.cycle_ms, static_cast<double>(c.rss_kb) / 1024.0,
             static_cast<double>(c.state_bytes) / 1024.0, c.journal.lines,
             static_cast<double>(c.journal.bytes) / 1024.0,
             static_cast<double>(c.dir_bytes) / 1024.0);
}

// The engine, its world, and what was measured so far.
class Soak {
 public:
  explicit Soak(const Options& o, fs::path dir) : o_(o), dir_(std::move(dir)) {
    times_ms_.reserve(static_cast<std::size_t>(o.cycles));  // before the first RSS reading
  }

  dslmodel::Status start();
  dslmodel::Status run();
  int report();

 private:
  dslmodel::Status one_cycle(std::int64_t n);
  Checkpoint checkpoint(std::int64_t n) const;
  void progress(std::int64_t n);
  void print_breakdown() const;

  Options o_;
  fs::path dir_;
  dslmodel::Config config_;
  soak::Desired desired_{.target = 1};
  soak::SoakClock* clock_ = nullptr;  // owned by the engine
  std::unique_ptr<dslmodel::AutonomousDecisionEngine> engine_;
  std::unique_ptr<soak::Workload> workload_;
  std::vector<double> times_ms_;
  std::int64_t rss_start_kb_ = 0;
  std::map<std::string, std::int64_t> reported_;  // outcome counts from the cycles' reports
  SteadyClock::time_point began_{}, last_progress_{}, last_row_{};
};

dslmodel::Status Soak::start() {
  config_.coordination_dir = (dir_ / "coord").string();
  config_.actuator.kind = dslmodel::ActuatorKind::kNone;  // replaced by the soak actuator below
  config_.policy.retention = dslmodel::Seconds(static_cast<std::int64_t>(o_.retention_s));
  // A small journal retention, so that a run of hours reaches it and shows it holds.
  config_.journal.max_bytes = std::uint64_t{1} << 20;
  config_.journal.segment_bytes = std::uint64_t{128} << 10;
  auto parts = dslmodel::make_engine_parts(config_);
  if (!parts.ok()) return parts.status();
  const auto origin =
      std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
  auto clock = std::make_unique<soak::SoakClock>(origin);
  clock_ = clock.get();
  parts->clock = std::move(clock);
  if (o_.actuator) {
    parts->actuator = std::make_unique<soak::SoakActuator>(&desired_);
  } else {
    desired_.target = 3;  // a fixed swarm the engine cannot change
  }
  engine_ = std::make_unique<dslmodel::AutonomousDecisionEngine>(config_, std::move(*parts));
  workload_ = std::make_unique<soak::Workload>(config_.coordination_dir, *clock_, o_.seed);
  return workload_->seed_history(o_.retention_s);
}

// The workload moves to now, then the engine runs one cycle as `dsl auto loop` does: dry for the
// first ten minutes of every two hours.
dslmodel::Status Soak::one_cycle(std::int64_t n) {
  if (dslmodel::Status s = workload_->step(desired_.target); !s.ok()) return s;
  dslmodel::ExecuteOptions options;
  options.dry_run = std::fmod(clock_->elapsed_s(), 7200) < 600;
  const auto t0 = SteadyClock::now();
  auto result = engine_->run_cycle(options);
  times_ms_.push_back(std::chrono::duration<double, std::milli>(SteadyClock::now() - t0).count());
  if (!result.ok()) return result.status();
  reported_["executed"] += static_cast<std::int64_t>(result->execution.executed.size());
  reported_["failed"] += static_cast<std::int64_t>(result->execution.failed.size());
  reported_["skipped"] += static_cast<std::int64_t>(result->execution.skipped.size());
  if (n == 1) rss_start_kb_ = soak::rss_kb();
  clock_->advance(std::chrono::milliseconds(std::llround(o_.interval_s * 1000)));
  return dslmodel::Status::Ok();
}

Checkpoint Soak::checkpoint(std::int64_t n) const {
  const fs::path coord = config_.coordination_dir;
  const auto end = times_ms_.end();
  const auto from = end - std::min<std::ptrdiff_t>(o_.window, end - times_ms_.begin());
  return {.cycle = n,
          .sim_s = clock_->elapsed_s(),
          .cycle_ms = median(std::vector<double>(from, end)),
          .rss_kb = soak::rss_kb(),
          .state_bytes = soak::tree_bytes(coord / ".dsl"),
          .journal = soak::journal_size(coord / ".dsl"),
          .dir_bytes = soak::tree_bytes(coord)};
}

void Soak::progress(std::int64_t n) {
  const auto now = SteadyClock::now();
  if (std::chrono::duration<double>(now - last_progress_).count() < o_.progress_s) return;
  last_progress_ = now;
  const auto j = soak::journal_size(fs::path(config_.coordination_dir) / ".dsl");
  fmt::print(stderr,
             "soak: cycle {}/{} ({} simulated), last cycle {:.2f} ms, journal {} lines, "
             "{:.0f} s elapsed\n",
             n, o_.cycles, sim_time(clock_->elapsed_s()), times_ms_.back(), j.lines,
             std::chrono::duration<double>(now - began_).count());
}

dslmodel::Status Soak::run() {
  fmt::print("soak: {} cycles of {} s ({} simulated), window {} cycles, directory {}\n", o_.cycles,
             o_.interval_s, sim_time(static_cast<double>(o_.cycles) * o_.interval_s), o_.window,
             config_.coordination_dir);
  fmt::print("{:>8} {:>9} {:>10} {:>8} {:>10} {:>9} {:>10} {:>10}\n", "cycle", "simulated",
             "cycle ms", "RSS MB", ".dsl/ KB", "journal", "journal KB", "dir KB");
  began_ = last_progress_ = last_row_ = SteadyClock::now();
  const std::int64_t rows = std::min<std::int64_t>(10, o_.cycles);
  for (std::int64_t n = 1; n <= o_.cycles; ++n) {
    if (dslmodel::Status s = one_cycle(n); !s.ok()) return s;
    const auto now = SteadyClock::now();
    const bool row_due = o_.budget_s > 0 &&
                         std::chrono::duration<double>(now - last_row_).count() > o_.budget_s / 10;
    if (n == o_.window || n % (o_.cycles / rows) == 0 || row_due) {
      print_row(checkpoint(n));
      last_row_ = now;
    }
    progress(n);
    if (o_.budget_s > 0 &&
        std::chrono::duration<double>(SteadyClock::now() - began_).count() > o_.budget_s) {
      print_row(checkpoint(n));
      fmt::print("stopped by --budget {} s after {} of {} cycles\n", o_.budget_s, n, o_.cycles);
      break;
    }
  }
  return dslmodel::Status::Ok();
}

// What the journal holds (within retention), by outcome, decision type and reason: where its
// lines come from.
void Soak::print_breakdown() const {
  auto entries = engine_->history(std::numeric_limits<std::size_t>::max());
  if (!entries.ok()) return;
  std::map<std::string, std::int64_t> by;
  for (const dslmodel::JournalEntry& e : *entries) {
    std::string key = fmt::format("{} {}", dslmodel::to_string(e.outcome), e.decision.type);
    if (e.outcome == dslmodel::Outcome::kSkipped) key += " (" + e.reason + ")";
    by[key] += 1 + e.repeats;
  }
  fmt::print(
      "the cycles reported {} executed, {} failed, {} skipped; journal records by outcome:\n",
      reported_.at("executed"), reported_.at("failed"), reported_.at("skipped"));
  for (const auto& [key, count] : by) fmt::print("  {:>8}  {}\n", count, key);
  const soak::WorkloadCounts& w = workload_->counts();
  fmt::print(
      "workload: {} items added, {} completed, {} failed, {} agent crashes, {} claims "
      "requeued, {} retries; {} scalings, {} failed by the actuator\n",
      w.added, w.completed, w.failed, w.crashes, w.requeued_seen, w.retries_seen, desired_.scalings,
      desired_.failures);
}

int Soak::report() {
  const auto ran = static_cast<std::int64_t>(times_ms_.size());
  const Checkpoint end = checkpoint(ran);
  const auto k = static_cast<std::ptrdiff_t>(
      std::max<std::int64_t>(1, std::min<std::int64_t>(o_.window, ran / 2)));
  const double first = median({times_ms_.begin(), times_ms_.begin() + k});
  const double last = median({times_ms_.end() - k, times_ms_.end()});
  const double ratio = first > 0 ? last / first : 0;
  const double rss_growth_mb = static_cast<double>(end.rss_kb - rss_start_kb_) / 1024.0;
  print_breakdown();
  fmt::print(
      "\n{} cycles in {:.0f} s of wall time\nper cycle: median of the first {} cycles {:.2f} ms, "
      "of the last {} {:.2f} ms: ratio {:.2f}x\n",
      ran, std::chrono::duration<double>(SteadyClock::now() - began_).count(), k, first, k, last,
      ratio);
  fmt::print(
      "RSS: {:.1f} MB after the first cycle, {:.1f} MB at the end: {:+.1f} MB (peak {:.1f} MB)\n",
      static_cast<double>(rss_start_kb_) / 1024.0, static_cast<double>(end.rss_kb) / 1024.0,
      rss_growth_mb, static_cast<double>(soak::status_kb("VmHWM")) / 1024.0);
  fmt::print(".dsl/: {:.1f} KB; journal {:.1f} KB in {} lines ({} files)\n",
             static_cast<double>(end.state_bytes) / 1024.0,
             static_cast<double>(end.journal.bytes) / 1024.0, end.journal.lines, end.journal.files);
  const bool time_ok = ratio <= 1.5;
  const bool rss_ok = rss_growth_mb <= 16;
  const auto bound = configured_bound(config_);
  const bool disk_ok = bound && end.state_bytes <= *bound;
  const std::string disk =
      bound ? fmt::format(".dsl/ {:.1f} KB {} bound {:.1f} KB {}",
                          static_cast<double>(end.state_bytes) / 1024.0, disk_ok ? "<=" : ">",
                          static_cast<double>(*bound) / 1024.0, disk_ok ? "ok" : "MISSED")
            : fmt::format(".dsl/ {:.1f} KB, no bound configured: not shown bounded",
                          static_cast<double>(end.state_bytes) / 1024.0);
  fmt::print("verdict: {}: time ratio {:.2f}x {} 1.5x {}; RSS {:+.1f} MB {} 16 MB {}; {}\n",
             time_ok && rss_ok && disk_ok ? "PASS" : "FAIL", ratio, time_ok ? "<=" : ">",
             time_ok ? "ok" : "MISSED", rss_growth_mb, rss_ok ? "<=" : ">",
             rss_ok ? "ok" : "MISSED", disk);
  return time_ok && rss_ok && disk_ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const auto options = parse(argc, argv);
  if (!options) return usage();
  fs::path dir = options->dir;
  std::error_code ec;
  if (dir.empty()) {
    std::string tmpl = (fs::temp_directory_path() / "dsl-soak-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) return 1;
    dir = tmpl;
  } else {
    fs::remove_all(dir / "coord", ec);
  }
  Soak soak(*options, dir);
  dslmodel::Status s = soak.start();
  if (s.ok()) s = soak.run();
  if (!s.ok()) {
    fmt::print(stderr, "soak: {}\n", s.message());
    return 1;
  }
  const int rc = soak.report();
  if (options->dir.empty()) fs::remove_all(dir, ec);
  return rc;
}

// What a loop cycle costs on a large directory that does not change, against its first cycle in
// the same run (docs/performance.md, "Incremental snapshots"): the first cycle reads every file,
// later ones only the files inotify named since. Two measures:
//  1. the store: DirStore::snapshot() with store.watch, cycle 1 against the median of cycles
//     2..N, with nothing changed and then with a few files added, changed and removed before
//     each cycle (each change is checked in the next snapshot); a DirStore without watch as
//     the reference.
//  2. the loop: `dsl --json auto loop --interval 0 --max-cycles N --dry-run` as a child, each
//     cycle's duration_ms.
// The records are stamped with the current time, so that the swarm looks alive and the cycle's
// decisions stay small.
//
//   dsl_loop_bench [--files 100000] [--cycles 6] [--workdir DIR]
// Exits 1 when a later cycle of an unchanged directory costs more than 10% of the first.
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "store/dir_store.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

void write(const fs::path& p, const std::string& s) {
  FILE* f = std::fopen(p.c_str(), "wb");
  if (f == nullptr) std::exit(1);
  std::fwrite(s.data(), 1, s.size(), f);
  std::fclose(f);
}

std::string now_iso() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// n files in the status benchmark's proportions: agents, work, completed, telemetry.
void generate(const fs::path& dir, int n) {
  fs::create_directories(dir);
  const std::string now = now_iso();
  for (int i = 0; i < n; ++i) {
    const int kind = i % 17;
    if (kind < 2) {
      write(dir / fmt::format("agent_{}.json", i),
            fmt::format(R"({{"id": "agent_{}", "status": "active", "heartbeat": "{}"}})", i, now));
    } else if (kind < 10) {
      write(
          dir / fmt::format("work_{}.json", i),
          fmt::format(R"({{"status": "pending", "prompt": "task {}", "created": "{}"}})", i, now));
    } else if (kind < 13) {
      write(dir / fmt::format("completed_{}.json", i),
            fmt::format(R"({{"status": "completed", "finished": "{}"}})", now));
    } else {
      write(dir / fmt::format("telemetry_{}.json", i),
            fmt::format(R"({{"timestamp": "{}", "metrics": {{"response_time": 800}}}})", now));
    }
  }
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

struct Cycles {
  double first_ms = 0;
  double later_ms = 0;  // median of the later cycles
  double ratio() const { return first_ms > 0 ? later_ms / first_ms : 0; }
};

// Snapshots of `store`, `changes` files touched before each later one; false when a change is
// not in the next snapshot.
bool time_store(dslmodel::store::DirStore& store, const fs::path& dir, int cycles, int changes,
                Cycles& out) {
  std::vector<double> later;
  for (int c = 0; c < cycles; ++c) {
    std::size_t expected_work = 0;
    for (int k = 0; k < changes && c > 0; ++k) {
      // One added, one rewritten (status claimed), one removed per step.
      write(dir / fmt::format("work_bench_{}_{}.json", c, k), R"({"status": "pending"})");
      write(dir / fmt::format("work_{}.json", 17 * k + 2), R"({"status": "claimed"})");
      std::error_code ec;
      fs::remove(dir / fmt::format("work_bench_{}_{}.json", c - 1, k), ec);
    }
    const auto t0 = Clock::now();
    auto snap = store.snapshot();
    const double ms = ms_since(t0);
    if (!snap.ok()) return false;
    if (c == 0) {
      out.first_ms = ms;
    } else {
      later.push_back(ms);
    }
    for (const auto& w : snap->work) expected_work += w.file.starts_with("work_bench_") ? 1 : 0;
    if (c > 0 && expected_work != static_cast<std::size_t>(changes)) {
      fmt::print(stderr, "cycle {}: {} of {} added files seen\n", c + 1, expected_work, changes);
      return false;
    }
  }
  out.later_ms = median(later);
  return true;
}

// The loop's cycles as a child process: each cycle's duration_ms from its JSON lines.
bool time_loop(const fs::path& dir, int cycles, Cycles& out) {
  const std::string cmd = fmt::format(
      "'{}' --json auto loop --interval 0 --max-cycles {} --dry-run --metrics-addr "
      "off -c '{}' 2>/dev/null",
      DSLMODEL_DSL_BINARY, cycles, dir.string());
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return false;
  std::vector<double> later;
  char* line = nullptr;
  std::size_t cap = 0;
  int n = 0;
  while (::getline(&line, &cap, p) > 0) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_object() || !j.contains("data") || !j["data"].contains("duration_ms")) continue;
    const double ms = j["data"]["duration_ms"].get<double>();
    if (n++ == 0) {
      out.first_ms = ms;
    } else {
      later.push_back(ms);
    }
  }
  std::free(line);
  const int status = ::pclose(p);
  out.later_ms = median(later);
  return status == 0 && n == cycles;
}

void print_row(const char* what, const Cycles& c) {
  fmt::print("{:<44}  {:>10.1f}  {:>10.1f}  {:>6.1f}%\n", what, c.first_ms, c.later_ms,
             100 * c.ratio());
}

}  // namespace

int main(int argc, char** argv) {
  int files = 100000;
  int cycles = 6;
  fs::path work = fs::temp_directory_path() / "dsl-loop-bench";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--files") files = std::atoi(argv[i + 1]);
    if (a == "--cycles") cycles = std::max(2, std::atoi(argv[i + 1]));
    if (a == "--workdir") work = argv[i + 1];
  }
  const fs::path dir = work / std::to_string(files);
  std::error_code ec;
  fs::remove_all(dir, ec);
  generate(dir, files);
  dslmodel::StoreConfig watched;
  watched.watch = true;
  Cycles full, unchanged, changed, loop;
  dslmodel::store::DirStore plain(dir, {});
  dslmodel::store::DirStore watching(dir, watched);
  (void)plain.snapshot();  // warm the page cache for every measure
  bool ok =
      time_store(plain, dir, cycles, 0, full) && time_store(watching, dir, cycles, 0, unchanged);
  dslmodel::store::DirStore watching_changes(dir, watched);
  ok = ok && time_store(watching_changes, dir, cycles, 10, changed);
  ok = ok && time_loop(dir, cycles, loop);
  if (!ok) {
    fmt::print(stderr, "a measure failed\n");
    return 1;
  }
  fmt::print("{} files, {} cycles\n{:<44}  {:>10}  {:>10}  {:>7}\n", files, cycles, "",
             "first (ms)", "later (ms)", "later/first");
  print_row("snapshot, no watch (every cycle full)", full);
  print_row("snapshot, watch, nothing changed", unchanged);
  print_row("snapshot, watch, 30 files changed per cycle", changed);
  print_row("dsl auto loop cycle, nothing changed", loop);
  const bool met = unchanged.ratio() <= 0.10 && loop.ratio() <= 0.10;
  fmt::print("{}\n", met ? "budget met (later cycles <= 10% of the first)" : "BUDGET MISSED");
  fs::remove_all(dir, ec);
  return met ? 0 : 1;
}

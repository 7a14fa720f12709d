// `dsl --json auto status` against a plain reader of the same files, at 1k, 10k and 100k files.
// Both run as child processes, alternated, several rounds; reports the median wall time of each,
// their ratio, and dsl's peak RSS (wait4's ru_maxrss). Budget at 100k: ratio <= 1.5, RSS <= 64 MB.
//
//   dsl_status_bench [--sizes 1000,10000,100000] [--rounds 7] [--workdir DIR] [--baseline DSL]
// With --baseline, another dsl binary (an older build) runs in the same rounds, for a before/after
// comparison on the same files. Exits 1 when the 100k budget is missed.
#include <fcntl.h>
#include <fmt/format.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "bench_process.h"

namespace {

using dslmodel::bench::run;
using dslmodel::bench::Sample;

void write(const std::filesystem::path& p, const std::string& s) {
  FILE* f = std::fopen(p.c_str(), "wb");
  if (f == nullptr) std::exit(1);
  std::fwrite(s.data(), 1, s.size(), f);
  std::fclose(f);
}

// n files in the fixture's proportions: agents, work, completed, telemetry.
void generate(const std::filesystem::path& dir, int n) {
  std::filesystem::create_directories(dir);
  for (int i = 0; i < n; ++i) {
    const int kind = i % 17;
    if (kind < 2) {
      write(
          dir / fmt::format("agent_{}.json", i),
          fmt::format(
              R"({{"id": "agent_{}", "status": "active", "model": "ollama/qwen3", "created": "2025-06-27T15:41:04.944999", "demo_cycle": true}})",
              i));
    } else if (kind < 10) {
      write(
          dir / fmt::format("work_{}.json", i),
          fmt::format(
              R"({{"id": "work_{}", "status": "pending", "prompt": "Demo task {}: Generate content", "created": "2025-06-27T15:41:04.945593", "demo_cycle": true}})",
              i, i));
    } else if (kind < 13) {
      write(
          dir / fmt::format("completed_{}.json", i),
          fmt::format(
              R"({{"id": "completed_{}", "status": "completed", "result": "Demo task {} completed", "finished": "2025-06-27T15:41:04.946694", "demo_cycle": true}})",
              i, i));
    } else {
      write(
          dir / fmt::format("telemetry_{}.json", i),
          fmt::format(
              R"({{"id": "telemetry_{}", "timestamp": "2025-06-27T15:41:04.947210", "metrics": {{"response_time": 800, "success_rate": 0.85}}, "demo_cycle": true}})",
              i));
    }
  }
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Times the reader and each binary on `dir`, alternated, `rounds` times; prints one row per
// binary. Returns false when a run failed; `ok` turns false when the 100k budget is missed.
bool measure(const std::filesystem::path& dir, int n, int rounds,
             const std::vector<std::string>& binaries, bool& ok) {
  std::vector<double> reader_t;
  std::vector<std::vector<double>> dsl_t(binaries.size());
  std::vector<long> rss(binaries.size(), 0);
  run({DSLMODEL_PLAIN_READER, dir.string()});  // warm the page cache for both
  for (int r = 0; r < rounds; ++r) {
    Sample a = run({DSLMODEL_PLAIN_READER, dir.string()});
    if (a.status != 0) {
      fmt::print(stderr, "the reader failed ({})\n", a.status);
      return false;
    }
    reader_t.push_back(a.seconds);
    for (std::size_t b = 0; b < binaries.size(); ++b) {
      Sample d = run({binaries[b], "--json", "auto", "status", "-c", dir.string()});
      if (d.status != 0) {
        fmt::print(stderr, "{} failed ({})\n", binaries[b], d.status);
        return false;
      }
      dsl_t[b].push_back(d.seconds);
      rss[b] = std::max(rss[b], d.max_rss_kb);
    }
  }
  for (std::size_t b = 0; b < binaries.size(); ++b) {
    const double ratio = median(dsl_t[b]) / median(reader_t);
    const double rss_mb = static_cast<double>(rss[b]) / 1024.0;
    fmt::print("{:>8}  {:>10}  {:>12.1f}  {:>12.1f}  {:>6.2f}x  {:>7.1f} MB\n", n,
               b == 0 ? "this" : "baseline", median(dsl_t[b]) * 1e3, median(reader_t) * 1e3, ratio,
               rss_mb);
    if (b == 0 && n == 100000 && (ratio > 1.5 || rss_mb > 64)) ok = false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> sizes = {1000, 10000, 100000};
  int rounds = 7;
  std::string baseline;
  std::filesystem::path work = std::filesystem::temp_directory_path() / "dsl-status-bench";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--rounds") rounds = std::atoi(argv[i + 1]);
    if (a == "--workdir") work = argv[i + 1];
    if (a == "--baseline") baseline = argv[i + 1];
    if (a == "--sizes") {
      sizes.clear();
      std::string s = argv[i + 1];
      for (std::size_t p = 0; p < s.size();) {
        std::size_t q = s.find(',', p);
        sizes.push_back(std::atoi(s.substr(p, q - p).c_str()));
        p = q == std::string::npos ? s.size() : q + 1;
      }
    }
  }
  bool ok = true;
  fmt::print("{:>8}  {:>10}  {:>12}  {:>12}  {:>7}  {:>10}\n", "files", "dsl", "dsl (ms)",
             "reader (ms)", "ratio", "dsl RSS");
  std::vector<std::string> binaries = {DSLMODEL_DSL_BINARY};
  if (!baseline.empty()) binaries.push_back(baseline);
  for (int n : sizes) {
    const auto dir = work / std::to_string(n);
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    generate(dir, n);
    if (!measure(dir, n, rounds, binaries, ok)) return 1;
    std::filesystem::remove_all(dir, ec);
  }
  fmt::print("{}\n", ok ? "budget met (100k: ratio <= 1.5x, RSS <= 64 MB)" : "BUDGET MISSED");
  return ok ? 0 : 1;
}

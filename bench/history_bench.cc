// The cost of history (docs/journal.md, "Bounded history"): `dsl --json auto status` and loop
// cycles on a coordination directory whose journal already holds N records (200,000 by
// default, about 100 MB, written as an earlier version did: no index), against the same
// directory with a fresh journal. Reports medians over rounds, in the same run:
//   - status with the long journal / status with a fresh one (budget <= 3x);
//   - a loop cycle after the first: (time of 1+K cycles - time of 1 cycle) / K (budget 50 ms);
//   - the loop's peak RSS (budget 64 MB).
// The first status on the old journal folds it once and saves the index; it is shown apart.
//
//   dsl_history_bench [--records 200000] [--rounds 5] [--cycles 20] [--workdir DIR]
// Exits 1 when a budget is missed.
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "bench_process.h"

namespace {

namespace fs = std::filesystem;
using dslmodel::bench::run;
using dslmodel::bench::Sample;

// A coordination directory of a small swarm: agents, work waiting, results.
void generate_dir(const fs::path& dir) {
  fs::create_directories(dir);
  for (int i = 0; i < 200; ++i) {
    const char* kind = i < 4 ? "agent" : i < 120 ? "work" : "completed";
    std::ofstream(dir / fmt::format("{}_{}.json", kind, i))
        << fmt::format(R"({{"id":"{}","status":"{}","created":"2026-01-01T00:00:00Z"}})", i,
                       i < 4     ? "active"
                       : i < 120 ? "pending"
                                 : "completed");
  }
}

// n journal records of a loop that mostly skipped, sometimes scaled: about 500 bytes each.
void generate_journal(const fs::path& file, int n) {
  fs::create_directories(file.parent_path());
  std::ofstream out(file, std::ios::binary);
  const char* reasons[] = {"cooldown", "dry_run", "rate_limited", "no_actuator"};
  for (int i = 1; i <= n; ++i) {
    const std::string at = fmt::format("2026-01-{:02d}T{:02d}:{:02d}:{:02d}.000Z", 1 + i / 86400,
                                       i / 3600 % 24, i / 60 % 60, i % 60);
    const bool executed = i % 50 == 0;
    out << fmt::format(
               R"({{"seq":{},"at":"{}","outcome":"{}","decision":{{"id":"dec-{}-1",)"
               R"("type":"scale_up","priority":8,"confidence":0.85,"rationale":"120 waiting x 1.0 s, )"
               R"(0.5 arrivals/s: 12 agents drain it in 10 s, target 10 s","reason":)"
               R"("backlog_exceeds_capacity","parameters":{{"target_agents":12,"current_agents":4,)"
               R"("delta":8,"needed_agents":12}},"created_at":"2026-01-01T00:00:00.000Z"}},)"
               R"("reason":"{}","result":"{}","output":"","duration_ms":3,"epoch":0,"inverse":{}}})",
               i, at, executed ? "executed" : "skipped", i, executed ? "" : reasons[i % 4],
               executed ? "scaled to 12 agents" : "",
               executed ? R"({"actuator":{"kind":"command","target_agents":4}})" : "{}")
        << '\n';
  }
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

struct Result {
  double status_s = 0;
  double first_status_s = 0;
  double cycle_ms = 0;
  long loop_rss_kb = 0;
};

Sample must(const Sample& s, const std::string& what) {
  if (s.status != 0) {
    fmt::print(stderr, "{} failed (status {})\n", what, s.status);
    std::exit(2);
  }
  return s;
}

Result measure(const std::string& dsl, const fs::path& dir, int rounds, int cycles) {
  const std::vector<std::string> status = {dsl, "--json", "-c", dir.string(), "auto", "status"};
  auto loop = [&](int n) {
    return std::vector<std::string>{dsl,
                                    "--json",
                                    "-c",
                                    dir.string(),
                                    "auto",
                                    "loop",
                                    "--dry-run",
                                    "--interval",
                                    "0",
                                    "--max-cycles",
                                    std::to_string(n),
                                    "--metrics-addr",
                                    "off"};
  };
  Result r;
  r.first_status_s = must(run(status), "status").seconds;
  std::vector<double> st;
  std::vector<double> per_cycle;
  for (int i = 0; i < rounds; ++i) {
    st.push_back(must(run(status), "status").seconds);
    const Sample one = must(run(loop(1)), "loop");
    const Sample many = must(run(loop(1 + cycles)), "loop");
    per_cycle.push_back((many.seconds - one.seconds) / cycles * 1000);
    r.loop_rss_kb = std::max(r.loop_rss_kb, many.max_rss_kb);
  }
  r.status_s = median(st);
  r.cycle_ms = median(per_cycle);
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  int records = 200000;
  int rounds = 5;
  int cycles = 20;
  fs::path work = fs::temp_directory_path() / fmt::format("dsl-history-bench-{}", ::getpid());
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--records") records = std::atoi(argv[i + 1]);
    if (a == "--rounds") rounds = std::max(1, std::atoi(argv[i + 1]));
    if (a == "--cycles") cycles = std::max(1, std::atoi(argv[i + 1]));
    if (a == "--workdir") work = argv[i + 1];
  }
  const std::string dsl = DSLMODEL_DSL_BINARY;
  const fs::path fresh = work / "fresh";
  const fs::path old = work / "history";
  generate_dir(fresh);
  generate_dir(old);
  fmt::print(stderr, "writing a journal of {} records...\n", records);
  generate_journal(old / ".dsl" / "journal.jsonl", records);
  const auto journal_mb =
      static_cast<double>(fs::file_size(old / ".dsl" / "journal.jsonl")) / (1 << 20);
  const Result f = measure(dsl, fresh, rounds, cycles);
  const Result h = measure(dsl, old, rounds, cycles);
  fmt::print("{:>22} {:>12} {:>16} {:>12}\n", "journal", "status (ms)", "cycle after 1st",
             "loop RSS");
  fmt::print("{:>22} {:>12.1f} {:>13.1f} ms {:>9.1f} MB\n", "fresh", f.status_s * 1000, f.cycle_ms,
             f.loop_rss_kb / 1024.0);
  fmt::print("{:>22} {:>12.1f} {:>13.1f} ms {:>9.1f} MB\n",
             fmt::format("{} records, {:.0f} MB", records, journal_mb), h.status_s * 1000,
             h.cycle_ms, h.loop_rss_kb / 1024.0);
  fmt::print("first status on the old journal (folds it, saves the index): {:.1f} ms\n",
             h.first_status_s * 1000);
  const double ratio = h.status_s / f.status_s;
  const bool ok = ratio <= 3.0 && h.cycle_ms <= 50 && h.loop_rss_kb <= 64 * 1024;
  fmt::print(
      "status ratio {:.2f}x (<= 3x), cycle {:.1f} ms (<= 50 ms), RSS {:.1f} MB (<= 64 MB): "
      "{}\n",
      ratio, h.cycle_ms, h.loop_rss_kb / 1024.0, ok ? "budget met" : "BUDGET MISSED");
  std::error_code ec;
  fs::remove_all(work, ec);
  return ok ? 0 : 1;
}

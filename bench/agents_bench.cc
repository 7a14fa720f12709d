// Claim-and-complete throughput of real `dsl agent run` processes on no-op items (["true"]),
// with 1, 4 and 16 agents, against a reference measured in the same run: one process spawning
// `true` once per item, sequentially (the cost of running the items alone).
//
//   dsl_agents_bench [--items 2000] [--agents 1,4,16] [--workdir DIR]
// Prints items per second for each agent count and the ratio to the reference.
#include <fcntl.h>
#include <fmt/format.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

extern char** environ;

namespace {

namespace fs = std::filesystem;

pid_t spawn(const std::vector<std::string>& args, const std::string& log) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  pid_t pid = 0;
  if (posix_spawnp(&pid, argv[0], &fa, nullptr, argv.data(), environ) != 0) pid = -1;
  posix_spawn_file_actions_destroy(&fa);
  return pid;
}

int wait_exit(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void write_items(const fs::path& dir, int n) {
  fs::create_directories(dir);
  for (int i = 0; i < n; ++i) {
    const auto p = dir / fmt::format("work_n{}.json", i);
    FILE* f = std::fopen(p.c_str(), "wb");
    if (f == nullptr) std::exit(1);
    fmt::print(f,
               R"({{"id":"n{}","status":"pending","priority":0,"created":"2026-01-01T00:00:00Z",)"
               R"("attempts":0,"max_attempts":3,"command":["true"]}})",
               i);
    std::fclose(f);
  }
}

int count_completed(const fs::path& dir) {
  int n = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().filename().string().starts_with("completed_")) ++n;
  }
  return n;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// One process spawning `true` n times, one after another.
double reference_rate(int n, const fs::path& work) {
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i) wait_exit(spawn({"true"}, (work / "ref.log").string()));
  return n / seconds_since(t0);
}

double agents_rate(int items, int agents, const fs::path& dir) {
  write_items(dir, items);
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<pid_t> pids;
  for (int a = 0; a < agents; ++a) {
    pids.push_back(spawn({DSLMODEL_DSL_BINARY, "agent", "run", "-c", dir.string(), "--id",
                          fmt::format("bench-{}", a), "--exit-when-idle", "--poll-ms", "20"},
                         (dir.parent_path() / fmt::format("agent-{}-{}.log", agents, a)).string()));
  }
  for (pid_t p : pids) wait_exit(p);
  const double s = seconds_since(t0);
  const int done = count_completed(dir);
  if (done != items) {
    fmt::print(stderr, "{} agents completed {} of {} items\n", agents, done, items);
    std::exit(1);
  }
  return items / s;
}

}  // namespace

int main(int argc, char** argv) {
  int items = 2000;
  std::vector<int> agent_counts = {1, 4, 16};
  fs::path work = fs::temp_directory_path() / "dsl-agents-bench";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--items") items = std::atoi(argv[i + 1]);
    if (a == "--workdir") work = argv[i + 1];
    if (a == "--agents") {
      agent_counts.clear();
      const std::string s = argv[i + 1];
      for (std::size_t p = 0; p < s.size();) {
        const std::size_t q = s.find(',', p);
        agent_counts.push_back(std::atoi(s.substr(p, q - p).c_str()));
        p = q == std::string::npos ? s.size() : q + 1;
      }
    }
  }
  std::error_code ec;
  fs::remove_all(work, ec);
  fs::create_directories(work);
  const double ref = reference_rate(items, work);
  fmt::print("reference: spawning `true` {} times in one process: {:.0f} per second\n", items, ref);
  fmt::print("{:>7}  {:>12}  {:>14}\n", "agents", "items/s", "vs reference");
  for (int n : agent_counts) {
    const double rate = agents_rate(items, n, work / fmt::format("a{}", n));
    fmt::print("{:>7}  {:>12.0f}  {:>13.2f}x\n", n, rate, rate / ref);
  }
  fs::remove_all(work, ec);
  return 0;
}

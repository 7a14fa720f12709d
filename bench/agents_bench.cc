// Claim-and-complete throughput of real `dsl agent run` processes on no-op items (["true"]),
// with 1, 4 and 16 agents, against a reference measured in the same run: one process spawning
// `true` once per item, sequentially (the cost of running the items alone).
//
//   dsl_agents_bench [--items 2000] [--agents 1,4,16] [--idle 100] [--workdir DIR]
// Prints items per second for each agent count and the ratio to the reference; then runs
// `dsl auto loop` supervising --idle idle agents and reports the loop's own CPU and memory over
// 10 s once they are all up (0 skips that part).
#include <fcntl.h>
#include <fmt/format.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
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

// utime + stime of a process, in seconds.
double cpu_seconds(pid_t pid) {
  FILE* f = std::fopen(fmt::format("/proc/{}/stat", pid).c_str(), "r");
  if (f == nullptr) return 0;
  char buf[4096] = {};
  const std::size_t n = std::fread(buf, 1, sizeof(buf) - 1, f);
  std::fclose(f);
  std::string stat(buf, n);
  std::size_t p = stat.rfind(')');
  // Fields after the command: state is field 3; utime and stime are fields 14 and 15.
  std::vector<std::string> fields;
  for (std::size_t q = p + 2; q < stat.size();) {
    std::size_t e = stat.find(' ', q);
    fields.push_back(stat.substr(q, e - q));
    q = e == std::string::npos ? stat.size() : e + 1;
  }
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  return (std::stod(fields.at(11)) + std::stod(fields.at(12))) / ticks;
}

long rss_kb(pid_t pid) {
  FILE* f = std::fopen(fmt::format("/proc/{}/status", pid).c_str(), "r");
  if (f == nullptr) return 0;
  char line[256];
  long kb = 0;
  while (std::fgets(line, sizeof(line), f) != nullptr) {
    if (std::sscanf(line, "VmRSS: %ld kB", &kb) == 1) break;
  }
  std::fclose(f);
  return kb;
}

int supervised_count(const fs::path& dir) {
  FILE* f = std::fopen((dir / ".dsl" / "supervisor.json").c_str(), "r");
  if (f == nullptr) return 0;
  int n = 0;
  for (int c = 0; (c = std::fgetc(f)) != EOF;) {
    if (c == '{') ++n;  // one object per agent plus the top level
  }
  std::fclose(f);
  return n > 0 ? n - 1 : 0;
}

// The loop supervising `agents` idle agents: its CPU share and RSS over 10 s.
void idle_cost(int agents, const fs::path& dir) {
  fs::create_directories(dir);
  const std::string cfg = (dir / "dsl.toml").string();
  FILE* f = std::fopen(cfg.c_str(), "w");
  if (f == nullptr) std::exit(1);
  fmt::print(f,
             "[policy]\nmin_agents = {0}\nmax_agents = {0}\n[actuator]\nkind = \"process\"\n"
             "agent_command = [\"{1}\", \"agent\", \"run\", \"-c\", \"{{coordination_dir}}\", "
             "\"--id\", \"{{agent_id}}\", \"--poll-ms\", \"1000\"]\n",
             agents, DSLMODEL_DSL_BINARY);
  std::fclose(f);
  const pid_t loop = spawn(
      {DSLMODEL_DSL_BINARY, "--config", cfg, "auto", "loop", "--interval", "5", "-c", dir.string()},
      (dir.parent_path() / "idle-loop.log").string());
  const auto t0 = std::chrono::steady_clock::now();
  while (supervised_count(dir) < agents && seconds_since(t0) < 60) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  std::this_thread::sleep_for(std::chrono::seconds(2));
  const double cpu0 = cpu_seconds(loop);
  const auto t1 = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(std::chrono::seconds(10));
  const double cpu = cpu_seconds(loop) - cpu0;
  const double wall = seconds_since(t1);
  const long rss = rss_kb(loop);
  kill(loop, SIGTERM);
  wait_exit(loop);
  const pid_t stop =
      spawn({DSLMODEL_DSL_BINARY, "--config", cfg, "agent", "stop", "-c", dir.string()},
            (dir.parent_path() / "idle-stop.log").string());
  wait_exit(stop);
  fmt::print("loop supervising {} idle agents ({} up): {:.2f}% of one core, {:.1f} MB RSS\n",
             agents, supervised_count(dir) == 0 ? agents : supervised_count(dir),
             100.0 * cpu / wall, rss / 1024.0);
}

}  // namespace

int main(int argc, char** argv) {
  int items = 2000;
  int idle = 100;
  std::vector<int> agent_counts = {1, 4, 16};
  fs::path work = fs::temp_directory_path() / "dsl-agents-bench";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--items") items = std::atoi(argv[i + 1]);
    if (a == "--workdir") work = argv[i + 1];
    if (a == "--idle") idle = std::atoi(argv[i + 1]);
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
  if (idle > 0) idle_cost(idle, work / "idle");
  fs::remove_all(work, ec);
  return 0;
}

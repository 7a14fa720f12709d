// Test helper: runs the real dsl binary with arguments and extra environment, capturing stdout
// and stderr separately through temp files.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace dslmodel::testing {

// Polls `pred` every `poll` until it holds or `limit` has passed; its last answer.
template <typename Pred>
bool wait_until(Pred pred, std::chrono::milliseconds limit,
                std::chrono::milliseconds poll = std::chrono::milliseconds(50)) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(poll);
  }
  return pred();
}

struct DslRun {
  int exit_code = -1;
  std::string out;
  std::string err;
  nlohmann::json json() const { return nlohmann::json::parse(out, nullptr, false); }
};

inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A fresh temp directory, removed by the destructor.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "dsl-it-XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& s) const { return path_ / s; }

 private:
  std::filesystem::path path_;
};

inline void write_file(const std::filesystem::path& p, const std::string& content) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << content;
}

// A dsl process started in the background; stdout and stderr go to files.
class DslProcess {
 public:
  DslProcess(const std::vector<std::string>& args, const std::vector<std::string>& env = {}) {
    std::vector<std::string> argv_s = {DSLMODEL_DSL_BINARY};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& s : argv_s) argv.push_back(s.data());
    argv.push_back(nullptr);
    std::vector<std::string> env_s;
    for (char** e = environ; *e != nullptr; ++e) {
      std::string kv(*e);
      if (kv.starts_with("DSLMODEL_") || kv.starts_with("LOGURU_")) continue;  // hermetic
      env_s.push_back(kv);
    }
    env_s.insert(env_s.end(), env.begin(), env.end());
    std::vector<char*> envp;
    for (auto& s : env_s) envp.push_back(s.data());
    envp.push_back(nullptr);
    const std::string out_path = (io_ / "out").string(), err_path = (io_ / "err").string();
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&fa, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (posix_spawn(&pid_, argv[0], &fa, nullptr, argv.data(), envp.data()) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&fa);
  }
  ~DslProcess() {
    if (pid_ > 0 && !reaped_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  DslProcess(const DslProcess&) = delete;
  DslProcess& operator=(const DslProcess&) = delete;

  pid_t pid() const { return pid_; }
  std::string out() const { return slurp(io_ / "out"); }
  std::string err() const { return slurp(io_ / "err"); }
  void signal(int sig) const { kill(pid_, sig); }

  // Waits for the exit; returns the exit code (128+signal when killed).
  int wait() {
    int status = 0;
    waitpid(pid_, &status, 0);
    reaped_ = true;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

 private:
  TempDir io_;
  pid_t pid_ = -1;
  bool reaped_ = false;
};

// Runs `dsl args...` to the end, with `env` ("NAME=value") added to a copy of this process's
// environment from which DSLMODEL_* and LOGURU_* are removed.
inline DslRun run_dsl(const std::vector<std::string>& args,
                      const std::vector<std::string>& env = {}) {
  DslProcess p(args, env);
  DslRun r;
  if (p.pid() <= 0) return r;
  r.exit_code = p.wait();
  r.out = p.out();
  r.err = p.err();
  return r;
}

}  // namespace dslmodel::testing

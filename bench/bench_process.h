// A child process run to completion by a benchmark: its wall time, peak RSS and wait status.
#pragma once

#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <chrono>
#include <string>
#include <vector>

extern char** environ;

namespace dslmodel::bench {

struct Sample {
  double seconds = 0;
  long max_rss_kb = 0;  // wait4's ru_maxrss
  int status = 0;       // -1 when it could not start
};

// Runs argv (argv[0] a path) with stdout to /dev/null.
inline Sample run(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  const auto t0 = std::chrono::steady_clock::now();
  pid_t pid = 0;
  Sample s;
  const int spawned = posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (spawned != 0) {
    s.status = -1;
    return s;
  }
  int status = 0;
  rusage ru{};
  wait4(pid, &status, 0, &ru);
  s.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  s.max_rss_kb = ru.ru_maxrss;
  s.status = status;
  return s;
}

}  // namespace dslmodel::bench

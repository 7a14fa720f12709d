// Test helpers for the real Prometheus tools (Debian package `prometheus`): find the binaries,
// run `promtool check metrics`, start a `prometheus` server scraping one target on 127.0.0.1,
// and query its HTTP API. Everything started here is stopped by its owner's destructor
// (SIGTERM, then SIGKILL after a grace period). Not thread-safe: one test thread per object.
#pragma once

#include <fcntl.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace dslmodel::testing {

// The path of `name` on PATH (or /usr/bin), empty when absent.
inline std::string find_tool(const std::string& name) {
  const char* env = std::getenv("PATH");
  std::string path = env != nullptr ? std::string(env) : std::string();
  path += ":/usr/bin:/usr/sbin";
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    std::filesystem::path p = std::filesystem::path(path.substr(start, end - start)) / name;
    if (!p.parent_path().empty() && ::access(p.c_str(), X_OK) == 0) return p.string();
    start = end + 1;
  }
  return {};
}

// A TCP port free on 127.0.0.1 at the time of the call.
inline int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

// Spawns argv with stdin from `in` (or /dev/null) and stdout+stderr into `log`; -1 on failure.
inline pid_t spawn_logged(const std::vector<std::string>& argv, const std::filesystem::path& log,
                          const std::filesystem::path& in = "/dev/null") {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, in.c_str(), O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  return rc == 0 ? pid : -1;
}

// Waits for `pid` up to `grace`, then SIGKILLs it. Returns its wait status.
inline int wait_or_kill(pid_t pid, std::chrono::milliseconds grace) {
  int status = 0;
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (std::chrono::steady_clock::now() < deadline) {
    if (::waitpid(pid, &status, WNOHANG) == pid) return status;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, &status, 0);
  return status;
}

struct ToolRun {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

// `promtool check metrics < metrics_file`.
inline ToolRun promtool_check_metrics(const std::filesystem::path& metrics_file) {
  ToolRun r;
  const std::filesystem::path log = metrics_file.string() + ".promtool.log";
  pid_t pid = spawn_logged({find_tool("promtool"), "check", "metrics"}, log, metrics_file);
  if (pid < 0) return r;
  int status = wait_or_kill(pid, std::chrono::seconds(30));
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream f(log);
  r.output.assign(std::istreambuf_iterator<char>(f), {});
  return r;
}

// A running `prometheus` server that scrapes 127.0.0.1:<target_port>/metrics every second.
class PrometheusServer {
 public:
  PrometheusServer(const PrometheusServer&) = delete;
  PrometheusServer& operator=(const PrometheusServer&) = delete;
  ~PrometheusServer() { stop(); }

  int port() const { return port_; }
  const std::filesystem::path& dir() const { return dir_; }
  bool running() const { return pid_ > 0; }

  // SIGTERM, then SIGKILL after 15 s. Idempotent.
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    wait_or_kill(pid_, std::chrono::seconds(15));
    pid_ = -1;
  }

  std::string log() const {
    std::ifstream f(dir_ / "prometheus.log");
    return {std::istreambuf_iterator<char>(f), {}};
  }

  // Starts prometheus with its config and data under `dir` (created) and waits (up to 30 s) for
  // /-/ready. running() is false when it did not come up; log() says why.
  static std::unique_ptr<PrometheusServer> start(int target_port, const std::filesystem::path& dir,
                                                 const std::string& job = "dslmodel") {
    std::unique_ptr<PrometheusServer> p(new PrometheusServer());
    p->dir_ = dir;
    std::filesystem::create_directories(dir / "data");
    std::ofstream(dir / "prom.yml")
        << "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        << "scrape_configs:\n  - job_name: " << job << "\n"
        << "    static_configs:\n      - targets: ['127.0.0.1:" << target_port << "']\n";
    p->port_ = free_port();
    p->pid_ = spawn_logged({find_tool("prometheus"), "--config.file=" + (dir / "prom.yml").string(),
                            "--storage.tsdb.path=" + (dir / "data").string(),
                            "--web.listen-address=127.0.0.1:" + std::to_string(p->port_)},
                           dir / "prometheus.log");
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (p->pid_ > 0 && std::chrono::steady_clock::now() < deadline) {
      httplib::Client c("127.0.0.1", p->port_);
      auto r = c.Get("/-/ready");
      if (r && r->status == 200) return p;
      int status = 0;
      if (::waitpid(p->pid_, &status, WNOHANG) == p->pid_) p->pid_ = -1;  // exited early
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    p->stop();
    return p;
  }

 private:
  PrometheusServer() = default;
  std::filesystem::path dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

// The value of the first series `expr` returns on the server's /api/v1/query, nullopt when there
// is none yet (or the server does not answer).
inline std::optional<double> query(int prom_port, const std::string& expr) {
  httplib::Client c("127.0.0.1", prom_port);
  c.set_read_timeout(5, 0);
  auto r = c.Get("/api/v1/query", httplib::Params{{"query", expr}}, httplib::Headers{});
  if (!r || r->status != 200) return std::nullopt;
  auto j = nlohmann::json::parse(r->body, nullptr, false);
  if (j.is_discarded() || j.value("status", "") != "success") return std::nullopt;
  const auto& result = j["data"]["result"];
  if (!result.is_array() || result.empty()) return std::nullopt;
  const auto& v = result[0]["value"];
  if (!v.is_array() || v.size() != 2 || !v[1].is_string()) return std::nullopt;
  return std::strtod(v[1].get<std::string>().c_str(), nullptr);
}

// Polls query(prom_port, expr) until it returns a value or `timeout` passes.
inline std::optional<double> query_until(int prom_port, const std::string& expr,
                                         std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (auto v = query(prom_port, expr)) return v;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  return std::nullopt;
}

}  // namespace dslmodel::testing

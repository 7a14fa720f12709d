// A real etcd server for tests (Debian package `etcd-server`): started on 127.0.0.1 with free
// client and peer ports and its data under a temporary directory, stopped (SIGTERM, then SIGKILL)
// by its destructor. stop() and start() again keep the data, so a test can take etcd away for a
// while and bring it back. Not thread-safe: one test thread per object.
#pragma once

#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include "integration/prometheus_helpers.h"

namespace dslmodel::testing {

class EtcdServer {
 public:
  EtcdServer(const EtcdServer&) = delete;
  EtcdServer& operator=(const EtcdServer&) = delete;
  ~EtcdServer() {
    stop();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // Starts a single-member etcd and waits (up to 30 s) until it answers /health. Returns null
  // when the etcd binary is missing or it did not come up (log() of a failed start is printed).
  static std::unique_ptr<EtcdServer> start() {
    std::unique_ptr<EtcdServer> s(new EtcdServer());
    char tmpl[] = "/tmp/dslmodel-etcd-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) return nullptr;
    s->dir_ = tmpl;
    s->client_port_ = free_port();
    s->peer_port_ = free_port();
    while (s->peer_port_ == s->client_port_) s->peer_port_ = free_port();
    if (!s->resume()) return nullptr;
    return s;
  }

  // "http://127.0.0.1:<port>"
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(client_port_); }
  // "etcd://127.0.0.1:<port>/<prefix>"
  std::string store_url(const std::string& prefix) const {
    return "etcd://127.0.0.1:" + std::to_string(client_port_) + "/" + prefix;
  }
  int port() const { return client_port_; }
  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  const std::filesystem::path& dir() const { return dir_; }

  std::string log() const {
    std::ifstream f(dir_ / "etcd.log");
    return {std::istreambuf_iterator<char>(f), {}};
  }

  // SIGTERM, then SIGKILL after 10 s. Idempotent. The data stays.
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    wait_or_kill(pid_, std::chrono::seconds(10));
    pid_ = -1;
  }

  // Starts etcd again on the same ports and data. True when it answers /health.
  bool resume() {
    if (pid_ > 0) return true;
    const std::string client = "http://127.0.0.1:" + std::to_string(client_port_);
    const std::string peer = "http://127.0.0.1:" + std::to_string(peer_port_);
    const std::string bin = find_tool("etcd");
    if (bin.empty()) return false;
    pid_ = spawn_logged({bin, "--name", "test", "--data-dir", (dir_ / "data").string(),
                         "--listen-client-urls", client, "--advertise-client-urls", client,
                         "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                         "--initial-cluster", "test=" + peer, "--log-level", "warn"},
                        dir_ / "etcd.log");
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (pid_ > 0 && std::chrono::steady_clock::now() < deadline) {
      httplib::Client c("127.0.0.1", client_port_);
      c.set_connection_timeout(std::chrono::milliseconds(500));
      auto r = c.Get("/health");
      if (r && r->status == 200 && r->body.find("true") != std::string::npos) return true;
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    stop();
    std::fprintf(stderr, "etcd did not start:\n%s\n", log().c_str());
    return false;
  }

 private:
  EtcdServer() = default;
  std::filesystem::path dir_;
  int client_port_ = 0;
  int peer_port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace dslmodel::testing

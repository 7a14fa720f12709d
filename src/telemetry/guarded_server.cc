#include "telemetry/guarded_server.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <system_error>
#include <utility>

namespace dslmodel::telemetry {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

struct GuardedServer::Conn {
  Conn(GuardedServer& s, socket_t fd) : server(s), sock(fd) {}
  GuardedServer& server;
  const socket_t sock;
  // Guarded by the server's mutex.
  Phase phase = Phase::kIdle;
  Clock::time_point since = Clock::now();
  bool evicted = false;
  // The serving thread's own.
  Clock::time_point deadline = Clock::time_point::max();
  bool close = false;
};

namespace {

// After a refusal that leaves the body unread: how long and how much the server still reads
// (and discards) before it closes, so that the client sees the answer, not a reset.
constexpr milliseconds kLingerTime{1000};
constexpr std::size_t kLingerBytes = std::size_t{1} << 20;

thread_local GuardedServer::Conn* t_conn = nullptr;

void endpoint(socket_t sock, bool peer, std::string& ip, int& port) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  auto* sa = reinterpret_cast<sockaddr*>(&addr);
  if ((peer ? ::getpeername(sock, sa, &len) : ::getsockname(sock, sa, &len)) != 0) return;
  std::array<char, NI_MAXHOST> host{};
  std::array<char, NI_MAXSERV> serv{};
  if (::getnameinfo(sa, len, host.data(), host.size(), serv.data(), serv.size(),
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
    return;
  }
  ip = host.data();
  port = std::atoi(serv.data());
}

// A socket stream whose reads and writes fail once a deadline has passed and whose reads fail
// once a byte budget is spent; a single read or write also fails after stalling for `io`.
// httplib reads a request line and its headers one byte at a time through it.
class DeadlineStream final : public httplib::Stream {
 public:
  DeadlineStream(socket_t sock, milliseconds io) : sock_(sock), io_(io) {}

  void limit(Clock::time_point deadline, std::size_t budget) {
    deadline_ = deadline;
    budget_ = budget;
  }

  // Waits up to `idle` for the next request's first byte.
  bool await_request(milliseconds idle) const {
    return off_ < len_ || poll_until(POLLIN, Clock::now() + idle);
  }

  bool is_readable() const override { return off_ < len_ || wait(POLLIN); }
  bool is_writable() const override { return wait(POLLOUT); }

  ssize_t read(char* ptr, std::size_t size) override {
    size = std::min(size, budget_);
    if (size == 0) return -1;
    if (off_ == len_) {
      if (size >= buf_.size()) return spend(receive(ptr, size));
      const ssize_t n = receive(buf_.data(), buf_.size());
      if (n <= 0) return n;
      off_ = 0;
      len_ = static_cast<std::size_t>(n);
    }
    const std::size_t k = std::min(size, len_ - off_);
    std::memcpy(ptr, buf_.data() + off_, k);
    off_ += k;
    return spend(static_cast<ssize_t>(k));
  }

  ssize_t write(const char* ptr, std::size_t size) override {
    if (Clock::now() >= deadline_) return -1;
    for (;;) {
      const ssize_t n = ::send(sock_, ptr, size, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n >= 0) return n;
      if (errno == EINTR) continue;
      if ((errno != EAGAIN && errno != EWOULDBLOCK) || !wait(POLLOUT)) return -1;
    }
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    endpoint(sock_, true, ip, port);
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    endpoint(sock_, false, ip, port);
  }
  socket_t socket() const override { return sock_; }

 private:
  ssize_t spend(ssize_t n) {
    if (n > 0) budget_ -= static_cast<std::size_t>(n);
    return n;
  }

  ssize_t receive(char* ptr, std::size_t size) const {
    if (Clock::now() >= deadline_) return -1;
    for (;;) {
      const ssize_t n = ::recv(sock_, ptr, size, MSG_DONTWAIT);
      if (n >= 0) return n;
      if (errno == EINTR) continue;
      if ((errno != EAGAIN && errno != EWOULDBLOCK) || !wait(POLLIN)) return -1;
    }
  }

  bool wait(short events) const {
    return poll_until(events, std::min(deadline_, Clock::now() + io_));
  }

  // True when the socket is ready (or has an error or hang-up the next call reports).
  bool poll_until(short events, Clock::time_point until) const {
    for (;;) {
      const auto left = std::chrono::ceil<milliseconds>(until - Clock::now()).count();
      if (left <= 0) return false;
      pollfd p{sock_, events, 0};
      const int rc = ::poll(&p, 1, static_cast<int>(std::min<std::int64_t>(left, INT_MAX)));
      if (rc > 0) return true;
      if (rc == 0 || errno != EINTR) return false;
    }
  }

  const socket_t sock_;
  const milliseconds io_;
  Clock::time_point deadline_ = Clock::time_point::max();
  std::size_t budget_ = std::numeric_limits<std::size_t>::max();
  std::array<char, 4096> buf_{};
  std::size_t off_ = 0;
  std::size_t len_ = 0;
};

}  // namespace

// httplib's accept loop hands each accepted connection to this queue.
class GuardedServer::Pool final : public httplib::TaskQueue {
 public:
  explicit Pool(GuardedServer& s) : s_(s) {}
  void enqueue(std::function<void()> fn) override { s_.enqueue(std::move(fn)); }
  void shutdown() override { s_.shutdown_pool(); }

 private:
  GuardedServer& s_;
};

GuardedServer::GuardedServer(ConnectionLimits limits) : limits_(limits) {
  new_task_queue = [this]() -> httplib::TaskQueue* { return new Pool(*this); };
}

void GuardedServer::widen_backlog() {
  const socket_t sock = svr_sock_;
  if (sock != INVALID_SOCKET) ::listen(sock, SOMAXCONN);
}

void GuardedServer::handling() {
  if (t_conn != nullptr) t_conn->server.enter(*t_conn, Phase::kHandling);
}

void GuardedServer::close_after_response() {
  if (t_conn != nullptr) t_conn->close = true;
}

GuardedServer::BodySlot::BodySlot(GuardedServer& server) : server_(server) {
  const Conn* c = t_conn;
  const auto until = c != nullptr ? c->deadline : Clock::now() + server.limits_.body;
  const std::size_t limit = std::max<std::size_t>(server.limits_.max_bodies, 1);
  std::unique_lock lock(server.mu_);
  const auto free = [&] { return server.bodies_ < limit; };
  const auto give_up = [&] { return (c != nullptr && c->evicted) || server.shutting_down_; };
  server.bodies_cv_.wait_until(lock, until, [&] { return free() || give_up(); });
  held_ = free() && !give_up();
  if (held_) ++server.bodies_;
}

GuardedServer::BodySlot::~BodySlot() {
  if (!held_) return;
  {
    std::lock_guard lock(server_.mu_);
    --server_.bodies_;
  }
  server_.bodies_cv_.notify_one();
}

bool GuardedServer::process_and_close_socket(socket_t sock) {
  Conn conn(*this, sock);
  bool ok = false;
  if (attach(conn)) {
    t_conn = &conn;
    DeadlineStream strm(sock, limits_.io);
    const auto phase = [&](Phase p, milliseconds within, std::size_t budget) {
      enter(conn, p);
      conn.deadline = Clock::now() + within;
      strm.limit(conn.deadline, budget);
    };
    for (std::size_t left = keep_alive_max_count_; left > 0 && svr_sock_ != INVALID_SOCKET;
         --left) {
      enter(conn, Phase::kIdle);
      if (!strm.await_request(limits_.idle)) break;
      phase(Phase::kHeaders, limits_.header, limits_.max_header_bytes);
      bool closed = false;
      ok = process_request(strm, left == 1, closed, [&](httplib::Request&) {
        phase(Phase::kBody, limits_.body, std::numeric_limits<std::size_t>::max());
      });
      if (!ok || closed || conn.close) break;
    }
    if (conn.close) {
      phase(Phase::kIdle, kLingerTime, kLingerBytes);
      ::shutdown(sock, SHUT_WR);
      std::array<char, 16384> sink{};
      while (strm.read(sink.data(), sink.size()) > 0) {
      }
    }
    t_conn = nullptr;
    detach(conn);  // before close: a displacement never touches a reused descriptor
  }
  ::shutdown(sock, SHUT_RDWR);
  ::close(sock);
  return ok;
}

bool GuardedServer::attach(Conn& c) {
  std::lock_guard lock(mu_);
  if (shutting_down_) return false;
  conns_.push_back(&c);
  return true;
}

void GuardedServer::detach(Conn& c) {
  std::lock_guard lock(mu_);
  conns_.erase(std::remove(conns_.begin(), conns_.end(), &c), conns_.end());
}

void GuardedServer::enter(Conn& c, Phase phase) {
  std::lock_guard lock(mu_);
  c.phase = phase;
  c.since = Clock::now();
}

void GuardedServer::evict_locked(Conn& c) {
  c.evicted = true;
  ::shutdown(c.sock, SHUT_RDWR);  // its thread's poll and recv return at once
}

bool GuardedServer::displace_locked() {
  Conn* victim = nullptr;
  for (Conn* c : conns_) {
    if (c->evicted || c->phase == Phase::kHandling) continue;
    if (victim == nullptr || c->since < victim->since) victim = c;
  }
  if (victim == nullptr) return false;
  evict_locked(*victim);
  bodies_cv_.notify_all();
  return true;
}

void GuardedServer::enqueue(std::function<void()> job) {
  std::lock_guard lock(mu_);
  jobs_.push_back(std::move(job));
  if (jobs_.size() <= idle_threads_) {
    jobs_cv_.notify_one();
    return;
  }
  if (threads_.size() < std::max<std::size_t>(limits_.max_connections, 1)) {
    try {
      threads_.emplace_back([this] { work(); });
      return;
    } catch (const std::system_error&) {
      // No thread to be had: free one instead.
    }
  }
  // The displaced connection's thread takes the job as soon as it has closed.
  displace_locked();
}

void GuardedServer::work() {
  std::unique_lock lock(mu_);
  for (;;) {
    ++idle_threads_;
    jobs_cv_.wait(lock, [this] { return !jobs_.empty() || shutting_down_; });
    --idle_threads_;
    if (jobs_.empty()) return;
    std::function<void()> job = std::move(jobs_.front());
    jobs_.pop_front();
    lock.unlock();
    job();
    lock.lock();
  }
}

void GuardedServer::shutdown_pool() {
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mu_);
    shutting_down_ = true;
    // Requests being handled finish; connections waiting on their clients end now.
    for (Conn* c : conns_) {
      if (c->phase != Phase::kHandling) evict_locked(*c);
    }
    threads.swap(threads_);
  }
  jobs_cv_.notify_all();
  bodies_cv_.notify_all();
  for (std::thread& t : threads) t.join();
}

}  // namespace dslmodel::telemetry

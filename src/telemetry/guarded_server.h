// The endpoint's defences against slow and hostile clients, in one place (ConnectionLimits in
// http_server.h; README "Observability"): an httplib::Server that
//   - serves each connection on its own thread, started when needed, up to max_connections; a
//     connection beyond that displaces the one that has waited longest on its client, so a new
//     request (a liveness probe) never queues behind slow clients;
//   - reads and writes through a stream with total deadlines per request: its headers must
//     arrive within `header` of its first byte (and within max_header_bytes), its body be read
//     and its response written within `body` of the end of the headers; a client that misses one
//     is disconnected. httplib itself only bounds each single read, which a client sending one
//     byte at a time never trips;
//   - bounds the requests that hold a body at once (BodySlot).
// Private to the telemetry module: callers include http_server.h.
//
// Thread-safety: handlers run on the connection threads; the static functions act on the
// connection the calling thread serves.
#pragma once

#include <httplib.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "telemetry/http_server.h"

namespace dslmodel::telemetry {

class GuardedServer final : public httplib::Server {
 public:
  explicit GuardedServer(ConnectionLimits limits);
  ~GuardedServer() override = default;
  GuardedServer(const GuardedServer&) = delete;
  GuardedServer& operator=(const GuardedServer&) = delete;

  // After binding: lets the kernel queue as many connections as it allows (httplib asks for 5,
  // so a burst of clients would see their handshakes dropped and retried seconds later).
  void widen_backlog();

  // The request the calling thread serves is being handled: it no longer waits on its client
  // and is not displaced by a new connection.
  static void handling();
  // The connection the calling thread serves closes after this response: the server drains
  // what the client still sends for a moment (at most 1 MiB or 1 s) so that the client reads
  // the answer rather than a reset. For a request whose body is left unread.
  static void close_after_response();

  // One of the max_bodies slots for reading and handling a request body, held while it lives.
  // Waits for a free one until the request's body deadline; false when none came free.
  class BodySlot {
   public:
    explicit BodySlot(GuardedServer& server);
    ~BodySlot();
    BodySlot(const BodySlot&) = delete;
    BodySlot& operator=(const BodySlot&) = delete;
    explicit operator bool() const { return held_; }

   private:
    GuardedServer& server_;
    bool held_ = false;
  };

  struct Conn;

 private:
  class Pool;
  enum class Phase { kIdle, kHeaders, kBody, kHandling };

  bool process_and_close_socket(socket_t sock) override;

  void enqueue(std::function<void()> job);
  void shutdown_pool();
  void work();
  bool attach(Conn& c);
  void detach(Conn& c);
  void enter(Conn& c, Phase phase);
  bool displace_locked();
  static void evict_locked(Conn& c);

  const ConnectionLimits limits_;
  std::mutex mu_;
  std::condition_variable jobs_cv_;
  std::condition_variable bodies_cv_;
  std::deque<std::function<void()>> jobs_;
  std::vector<std::thread> threads_;
  std::vector<Conn*> conns_;
  std::size_t idle_threads_ = 0;
  std::size_t bodies_ = 0;
  bool shutting_down_ = false;
};

}  // namespace dslmodel::telemetry

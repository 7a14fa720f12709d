#include "telemetry/http_server.h"

#include <fmt/format.h>
#include <httplib.h>
#include <malloc.h>
#include <sys/socket.h>
#include <unistd.h>

#include <charconv>
#include <exception>
#include <iterator>
#include <mutex>
#include <optional>
#include <thread>

#include "telemetry/guarded_server.h"

namespace dslmodel::telemetry {

struct MetricsServer::Impl {
  explicit Impl(ServerConfig c) : cfg(std::move(c)), receiver(cfg.receiver), server(cfg.limits) {}

  ServerConfig cfg;
  OtlpReceiver receiver;
  GuardedServer server;
  int port = 0;
  std::jthread thread;
  std::once_flag stopped;
};

namespace {

constexpr const char* kText = "text/plain; charset=utf-8";

// Calls `fn`, turning an exception into a 500.
template <typename F>
void guarded(httplib::Response& res, F&& fn) {
  try {
    fn();
  } catch (const std::exception& e) {
    res.status = 500;
    res.set_content(fmt::format("internal error: {}\n", e.what()), kText);
  } catch (...) {
    res.status = 500;
    res.set_content("internal error\n", kText);
  }
}

// A body that held this much is given back to the system once handled: glibc keeps freed
// memory of the connection threads' arenas otherwise (docs/performance.md, "The endpoint
// under hostile clients").
constexpr std::size_t kTrimAbove = std::size_t{1} << 20;

// The value of the `name` header as sent (Request::get_header_value stops at a NUL byte); when
// sent more than once, the values joined as a list (RFC 9110 §5.3). nullopt when absent.
std::optional<std::string> header(const httplib::Request& req, const std::string& name) {
  auto [it, end] = req.headers.equal_range(name);
  if (it == end) return std::nullopt;
  std::string value = it->second;
  for (++it; it != end; ++it) value += ", " + it->second;
  return value;
}

// The Content-Length, when there is one and it is a plain decimal number.
std::optional<std::uint64_t> content_length(const httplib::Request& req) {
  const auto v = header(req, "Content-Length");
  if (!v) return std::nullopt;
  std::uint64_t n = 0;
  auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (v->empty() || ec != std::errc() || end != v->data() + v->size()) return std::nullopt;
  return n;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

struct Refusal {
  int status;
  std::string message;
};

// The framing rules (RFC 9112 §6) a request must pass before any of its body is read: one way
// to find the end of the body, and a body only where one is taken.
std::optional<Refusal> framing_error(const httplib::Request& req) {
  const std::size_t lengths = req.get_header_value_count("Content-Length");
  const std::size_t codings = req.get_header_value_count("Transfer-Encoding");
  if (lengths > 1) return Refusal{400, "more than one Content-Length header"};
  if (codings > 1) return Refusal{400, "more than one Transfer-Encoding header"};
  if (lengths == 1 && codings == 1) {
    return Refusal{400, "both Content-Length and Transfer-Encoding"};
  }
  if (codings == 1 && !iequals(header(req, "Transfer-Encoding").value_or(""), "chunked")) {
    return Refusal{501, "unsupported transfer coding: only chunked"};
  }
  const auto length = content_length(req);
  if (lengths == 1 && !length) return Refusal{400, "Content-Length is not a decimal number"};
  const bool body = codings == 1 || (length && *length > 0);
  if (body && (req.method != "POST" || req.path != "/v1/traces")) {
    return Refusal{413, "this endpoint takes no request body"};
  }
  return std::nullopt;
}

void send(httplib::Response& res, const ReceiverReply& reply) {
  res.status = reply.status;
  res.set_content(reply.body, reply.content_type);
}

// Answers and closes the connection: for a request whose body is left unread.
void refuse(httplib::Response& res, const ReceiverReply& reply) {
  GuardedServer::close_after_response();
  send(res, reply);
  res.set_header("Connection", "close");
}

// Reads the body into `body` (the caller's, so that it can give the memory back).
void answer_traces(MetricsServer::Impl& s, const httplib::Request& req, httplib::Response& res,
                   const httplib::ContentReader& reader, std::string& body) {
  if (!s.receiver.enabled()) {
    return refuse(res, {404, kText, "OTLP receiver disabled\n"});
  }
  const auto length = content_length(req);
  if (auto early = s.receiver.precheck(header(req, "Content-Type").value_or(""), length)) {
    return refuse(res, *early);
  }
  const GuardedServer::BodySlot slot(s.server);
  if (!slot) {
    res.set_header("Retry-After", "1");
    return refuse(res, s.receiver.busy());
  }
  const std::size_t limit = s.receiver.config().max_body_bytes;
  body.reserve(length ? static_cast<std::size_t>(*length) : 0);
  bool over = false;
  const bool read_ok = reader([&](const char* data, std::size_t n) {
    if (body.size() + n > limit) {
      over = true;
      return false;
    }
    body.append(data, n);
    return true;
  });
  if (over) return refuse(res, s.receiver.too_large());
  if (!read_ok) return refuse(res, {400, kText, "could not read the request body\n"});
  GuardedServer::handling();
  send(res, s.receiver.handle(body));
}

void receive_traces(MetricsServer::Impl& s, const httplib::Request& req, httplib::Response& res,
                    const httplib::ContentReader& reader) {
  std::string body;
  answer_traces(s, req, res, reader, body);
  if (body.capacity() >= kTrimAbove) {  // accepted or refused over the limit
    std::string().swap(body);
    ::malloc_trim(0);
  }
}

void add_routes(MetricsServer::Impl& s) {
  s.server.set_pre_routing_handler([&s](const httplib::Request& req, httplib::Response& res) {
    auto bad = framing_error(req);
    if (!bad) return httplib::Server::HandlerResponse::Unhandled;
    if (req.path == "/v1/traces" && s.receiver.enabled()) {
      refuse(res, s.receiver.reject(bad->status, bad->message));
    } else {
      refuse(res, {bad->status, kText, bad->message + "\n"});
    }
    return httplib::Server::HandlerResponse::Handled;
  });
  s.server.Get("/metrics", [&s](const httplib::Request&, httplib::Response& res) {
    guarded(res, [&] {
      res.set_content(s.cfg.metrics ? s.cfg.metrics() : std::string(),
                      "text/plain; version=0.0.4; charset=utf-8");
    });
  });
  s.server.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", kText);
  });
  s.server.Get("/readyz", [&s](const httplib::Request&, httplib::Response& res) {
    guarded(res, [&] {
      if (!s.cfg.ready || s.cfg.ready()) {
        res.set_content("ready\n", kText);
        return;
      }
      res.status = 503;
      res.set_content("not ready: no cycle has succeeded recently\n", kText);
    });
  });
  s.server.Get("/status", [&s](const httplib::Request&, httplib::Response& res) {
    guarded(res, [&] {
      res.set_content(s.cfg.status_json ? s.cfg.status_json() : std::string("{}"),
                      "application/json");
    });
  });
  s.server.Post("/v1/traces", [&s](const httplib::Request& req, httplib::Response& res,
                                   const httplib::ContentReader& reader) {
    guarded(res, [&] { receive_traces(s, req, res, reader); });
  });
}

void configure(MetricsServer::Impl& s) {
  // Only for the Keep-Alive header: GuardedServer keeps the time itself.
  s.server.set_keep_alive_timeout(
      static_cast<time_t>(std::chrono::ceil<std::chrono::seconds>(s.cfg.limits.idle).count()));
  // SO_REUSEADDR only: httplib's default adds SO_REUSEPORT, which would let a second engine
  // bind the same port silently.
  s.server.set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  s.server.set_payload_max_length(s.cfg.receiver.max_body_bytes);
  s.server.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, const std::exception_ptr&) {
        res.status = 500;
        res.set_content("internal error\n", kText);
      });
  add_routes(s);
}

}  // namespace

Result<std::pair<std::string, int>> parse_listen_address(std::string_view addr) {
  auto bad = [&](std::string_view why) {
    return Status(ErrorCode::kInvalidArgument,
                  fmt::format("invalid listen address \"{}\": {}", addr, why));
  };
  const auto colon = addr.rfind(':');
  if (colon == std::string_view::npos) return bad("expected host:port");
  std::string_view host = addr.substr(0, colon);
  const std::string_view port_text = addr.substr(colon + 1);
  if (host.starts_with('[')) {
    if (!host.ends_with(']') || host.size() < 3) return bad("unbalanced brackets");
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos) {
    return bad("an IPv6 host must be in brackets");
  }
  int port = -1;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc() || end != port_text.data() + port_text.size() ||
      port < 0 || port > 65535) {
    return bad("port must be a number from 0 to 65535");
  }
  return std::pair<std::string, int>(host.empty() ? "0.0.0.0" : std::string(host), port);
}

MetricsServer::MetricsServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

MetricsServer::~MetricsServer() { stop(); }

Result<std::unique_ptr<MetricsServer>> MetricsServer::start(ServerConfig cfg) {
  try {
    auto impl = std::make_unique<Impl>(std::move(cfg));
    configure(*impl);
    Impl& s = *impl;
    if (s.cfg.port == 0) {
      s.port = s.server.bind_to_any_port(s.cfg.host);
    } else {
      s.port = s.server.bind_to_port(s.cfg.host, s.cfg.port) ? s.cfg.port : -1;
    }
    if (s.port <= 0) {
      return Status(ErrorCode::kUnavailable,
                    fmt::format("cannot listen on {}:{}", s.cfg.host, s.cfg.port));
    }
    s.server.widen_backlog();
    s.thread = std::jthread([&s] { s.server.listen_after_bind(); });
    // stop() is a no-op until the loop runs: wait for it so that a prompt stop() cannot hang.
    for (int i = 0; i < 5000 && !s.server.is_running(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return std::unique_ptr<MetricsServer>(new MetricsServer(std::move(impl)));
  } catch (const std::exception& e) {
    return Status(ErrorCode::kUnavailable,
                  fmt::format("cannot start the HTTP server: {}", e.what()));
  }
}

int MetricsServer::port() const { return impl_->port; }

void MetricsServer::stop() {
  std::call_once(impl_->stopped, [this] {
    impl_->server.stop();
    if (impl_->thread.joinable()) impl_->thread.join();
  });
}

}  // namespace dslmodel::telemetry

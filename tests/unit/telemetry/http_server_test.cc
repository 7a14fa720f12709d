#include "telemetry/http_server.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <string>

namespace dslmodel::telemetry {
namespace {

namespace fs = std::filesystem;
using std::chrono::steady_clock;

TEST(ParseListenAddress, AcceptsTheThreeForms) {
  auto a = parse_listen_address("127.0.0.1:8080");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->first, "127.0.0.1");
  EXPECT_EQ(a->second, 8080);
  auto b = parse_listen_address(":9090");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->first, "0.0.0.0");
  EXPECT_EQ(b->second, 9090);
  auto c = parse_listen_address("[::1]:0");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->first, "::1");
  EXPECT_EQ(c->second, 0);
}

TEST(ParseListenAddress, RejectsMalformed) {
  for (const char* bad :
       {"", "8080", "host:", "host:x", "host:70000", "::1:80", "[::1:80", "h:-1"}) {
    auto r = parse_listen_address(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
  }
}

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / fmt::format("http_server_test_{}", ::getpid());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    ServerConfig cfg;
    cfg.port = 0;
    cfg.metrics = [] { return std::string("# HELP g G.\n# TYPE g gauge\ng 1\n"); };
    cfg.status_json = [] { return std::string(R"({"ok":true})"); };
    cfg.ready = [this] { return ready_.load(); };
    cfg.receiver.dir = dir_;
    cfg.receiver.max_body_bytes = 1 << 20;
    auto s = MetricsServer::start(std::move(cfg));
    ASSERT_TRUE(s.ok()) << s.status().message();
    server_ = std::move(s).value();
    ASSERT_GT(server_->port(), 0);
  }
  void TearDown() override {
    server_.reset();
    fs::remove_all(dir_);
  }
  httplib::Client client() {
    httplib::Client c("127.0.0.1", server_->port());
    c.set_read_timeout(5, 0);
    return c;
  }

  fs::path dir_;
  std::atomic<bool> ready_{false};
  std::unique_ptr<MetricsServer> server_;
};

TEST_F(ServerTest, ServesMetricsHealthAndStatus) {
  auto c = client();
  auto m = c.Get("/metrics");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->status, 200);
  EXPECT_EQ(m->body, "# HELP g G.\n# TYPE g gauge\ng 1\n");
  EXPECT_EQ(m->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  auto h = c.Get("/healthz");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200);
  EXPECT_EQ(h->body, "ok\n");
  auto s = c.Get("/status");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->status, 200);
  EXPECT_EQ(s->body, R"({"ok":true})");
  EXPECT_EQ(s->get_header_value("Content-Type"), "application/json");
  auto missing = c.Get("/nope");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
}

TEST_F(ServerTest, ReadyzFollowsReady) {
  auto c = client();
  auto r = c.Get("/readyz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_NE(r->body.find("not ready"), std::string::npos);
  ready_ = true;
  r = c.Get("/readyz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST_F(ServerTest, ReceiverAcceptsJsonAndRejectsProtobuf) {
  auto c = client();
  const std::string body =
      R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"a"},{"name":"b"}]}]}]})";
  auto ok = c.Post("/v1/traces", body, "application/json");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(ok->body, "{}");
  std::size_t files = 0;
  for (const auto& e : fs::directory_iterator(dir_)) {
    files += e.path().filename().string().starts_with("telemetry_otlp-") ? 1 : 0;
  }
  EXPECT_EQ(files, 1U);
  auto bad = c.Post("/v1/traces", "{oops", "application/json");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_NE(bad->body.find("invalid JSON"), std::string::npos);
  auto proto = c.Post("/v1/traces", std::string("\x0a\x01"), "application/x-protobuf");
  ASSERT_TRUE(proto);
  EXPECT_EQ(proto->status, 415);
}

TEST_F(ServerTest, ChunkedBodyOverTheLimitIs413) {
  auto c = client();
  std::size_t sent = 0;
  auto r = c.Post(
      "/v1/traces",
      [&](std::size_t, httplib::DataSink& sink) {
        std::string chunk(std::size_t{64} * 1024, ' ');
        if (sent >= (std::size_t{64} << 20)) {
          sink.done();
          return true;
        }
        sent += chunk.size();
        return sink.write(chunk.data(), chunk.size());
      },
      "application/json");
  if (r) {
    EXPECT_EQ(r->status, 413);
  }
  EXPECT_LT(sent, std::size_t{64} << 20);  // the server stopped reading early
}

// Sends headers announcing a 50 MB body and only 64 KiB of it: the 413 must arrive anyway.
TEST_F(ServerTest, FiftyMegabyteBodyIs413WithoutBeingRead) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(server_->port()));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  const std::string head =
      "POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Content-Length: 52428800\r\n\r\n";
  ASSERT_EQ(::send(fd, head.data(), head.size(), MSG_NOSIGNAL), static_cast<ssize_t>(head.size()));
  const std::string part(std::size_t{64} * 1024, '[');
  ASSERT_GT(::send(fd, part.data(), part.size(), MSG_NOSIGNAL), 0);
  const auto start = steady_clock::now();
  std::string reply;
  char buf[4096];
  while (reply.find("\r\n\r\n") == std::string::npos) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    reply.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  EXPECT_LT(steady_clock::now() - start, std::chrono::seconds(3));
  EXPECT_TRUE(reply.starts_with("HTTP/1.1 413")) << reply;
}

TEST_F(ServerTest, StopIsBoundedWithAnIdleKeepAliveConnection) {
  auto c = client();
  c.set_keep_alive(true);
  ASSERT_TRUE(c.Get("/healthz"));
  const auto start = steady_clock::now();
  server_->stop();
  EXPECT_LT(steady_clock::now() - start, std::chrono::seconds(3));
  server_->stop();  // idempotent
}

TEST(MetricsServer, ReceiverDisabledWithoutDirectory) {
  ServerConfig cfg;
  cfg.port = 0;
  auto s = MetricsServer::start(std::move(cfg));
  ASSERT_TRUE(s.ok());
  httplib::Client c("127.0.0.1", (*s)->port());
  auto r = c.Post("/v1/traces", "{}", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  auto m = c.Get("/metrics");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->body, "");
}

TEST(MetricsServer, PortInUseIsAnError) {
  ServerConfig a;
  a.port = 0;
  auto first = MetricsServer::start(std::move(a));
  ASSERT_TRUE(first.ok());
  ServerConfig b;
  b.port = (*first)->port();
  auto second = MetricsServer::start(std::move(b));
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace dslmodel::telemetry

#include "telemetry/otlp_http_exporter.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace dslmodel::telemetry {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

enum class Mode { kOk, kSlow, kError };

// A local OTLP/HTTP collector on 127.0.0.1:<any port>, recording the bodies it receives.
class Collector {
 public:
  explicit Collector(Mode mode) : mode_(mode) {
    server_.Post("/v1/traces", [this](const httplib::Request& req, httplib::Response& res) {
      {
        std::lock_guard lock(mu_);
        bodies_.push_back(req.body);
        content_types_.push_back(req.get_header_value("Content-Type"));
      }
      if (mode_ == Mode::kSlow) {
        std::unique_lock lock(mu_);
        release_cv_.wait_for(lock, 5s, [this] { return released_; });
      }
      res.status = mode_ == Mode::kError ? 500 : 200;
      res.set_content("{}", "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~Collector() {
    {
      std::lock_guard lock(mu_);
      released_ = true;
    }
    release_cv_.notify_all();
    server_.stop();
    thread_.join();
  }
  Collector(const Collector&) = delete;
  Collector& operator=(const Collector&) = delete;

  std::string endpoint() const {
    return "http://127.0.0.1:" + std::to_string(port_) + "/v1/traces";
  }
  std::vector<std::string> bodies() const {
    std::lock_guard lock(mu_);
    return bodies_;
  }
  std::vector<std::string> content_types() const {
    std::lock_guard lock(mu_);
    return content_types_;
  }

 private:
  const Mode mode_;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  mutable std::mutex mu_;
  std::condition_variable release_cv_;
  bool released_ = false;                   // guarded by mu_
  std::vector<std::string> bodies_;         // guarded by mu_
  std::vector<std::string> content_types_;  // guarded by mu_
};

// A port with nothing listening: bind, read the port, close.
int dead_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  (void)::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

SpanData span(int i) {
  SpanData s;
  s.name = "swarmsh.autonomous.system_analysis";
  s.trace_id = new_trace_id();
  s.span_id = new_span_id();
  s.start_unix_nano = 1700000000000000000 + i;
  s.end_unix_nano = s.start_unix_nano + 1000;
  s.attributes = {{"active_agents", std::int64_t{i}}};
  return s;
}

OtlpHttpConfig test_config(std::string endpoint) {
  OtlpHttpConfig c;
  c.endpoint = std::move(endpoint);
  c.resource.service_name = "exporter-test";
  c.max_batch = 4;
  c.max_queue = 16;
  c.schedule_delay = 50ms;
  c.timeout = 300ms;
  c.shutdown_flush = 600ms;
  return c;
}

std::size_t spans_in(const std::string& body) {
  auto j = nlohmann::json::parse(body);
  return j["resourceSpans"][0]["scopeSpans"][0]["spans"].size();
}

TEST(OtlpHttpExporter, RejectsBadConfig) {
  for (const char* bad : {"", "https://x/v1/traces", "http://", "http://h:99999/v1/traces",
                          "ftp://h/v1/traces", "http://h:port/x"}) {
    auto e = OtlpHttpExporter::create(test_config(bad));
    ASSERT_FALSE(e.ok()) << bad;
    EXPECT_EQ(e.status().code(), ErrorCode::kInvalidArgument);
  }
  auto c = test_config("http://127.0.0.1:1/v1/traces");
  c.max_batch = 0;
  EXPECT_FALSE(OtlpHttpExporter::create(c).ok());
}

TEST(OtlpHttpExporter, SendsBatchesOfOtlpJson) {
  Collector collector(Mode::kOk);
  auto e = OtlpHttpExporter::create(test_config(collector.endpoint()));
  ASSERT_TRUE(e.ok()) << e.status().message();
  std::vector<SpanData> spans;
  spans.reserve(20);
  for (int i = 0; i < 10; ++i) spans.push_back(span(i));
  (*e)->export_spans(spans);
  EXPECT_TRUE((*e)->flush(5s));
  EXPECT_EQ((*e)->stats().exported, 10U);
  EXPECT_EQ((*e)->stats().dropped, 0U);
  const auto bodies = collector.bodies();
  ASSERT_EQ(bodies.size(), 3U);  // 4 + 4 + 2 with max_batch 4
  std::size_t total = 0;
  for (const auto& b : bodies) {
    EXPECT_LE(spans_in(b), 4U);
    total += spans_in(b);
  }
  EXPECT_EQ(total, 10U);
  for (const auto& ct : collector.content_types()) EXPECT_EQ(ct, "application/json");
  const auto first = nlohmann::json::parse(bodies[0]);
  EXPECT_EQ(first["resourceSpans"][0]["resource"]["attributes"][0]["value"]["stringValue"],
            "exporter-test");
  EXPECT_EQ(
      first["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["attributes"][0]["value"]["intValue"],
      "0");
}

TEST(OtlpHttpExporter, PartialBatchGoesOutAfterScheduleDelay) {
  Collector collector(Mode::kOk);
  auto e = OtlpHttpExporter::create(test_config(collector.endpoint()));
  ASSERT_TRUE(e.ok());
  (*e)->export_spans({span(1)});
  const auto deadline = Clock::now() + 5s;
  while (collector.bodies().empty() && Clock::now() < deadline) std::this_thread::sleep_for(10ms);
  ASSERT_EQ(collector.bodies().size(), 1U);
  EXPECT_EQ(spans_in(collector.bodies()[0]), 1U);
}

TEST(OtlpHttpExporter, FullQueueDropsAndCounts) {
  auto c = test_config("http://127.0.0.1:" + std::to_string(dead_port()) + "/v1/traces");
  c.schedule_delay = 10s;  // nothing is sent while we fill the queue
  c.max_batch = 100;
  auto e = OtlpHttpExporter::create(c);
  ASSERT_TRUE(e.ok());
  std::vector<SpanData> spans;
  spans.reserve(20);
  for (int i = 0; i < 20; ++i) spans.push_back(span(i));
  (*e)->export_spans(spans);  // max_queue 16
  EXPECT_EQ((*e)->stats().dropped, 4U);
}

// The collector's misbehaviour must cost dropped spans, never the caller's time.
void expect_non_blocking_and_dropping(Collector* collector, const std::string& endpoint) {
  const auto config = test_config(endpoint);
  auto e = OtlpHttpExporter::create(config);
  ASSERT_TRUE(e.ok());
  const auto start = Clock::now();
  for (int i = 0; i < 100; ++i) (*e)->export_spans({span(i)});
  EXPECT_LT(Clock::now() - start, 50ms);
  EXPECT_FALSE((*e)->flush(3s));
  const auto deadline = Clock::now() + 5s;
  while ((*e)->stats().dropped < 100 && Clock::now() < deadline) {
    (*e)->export_spans({span(0)});
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_GE((*e)->stats().dropped, 100U);
  EXPECT_GE((*e)->stats().failed_requests, 1U);
  EXPECT_EQ((*e)->stats().exported, 0U);
  (*e)->export_spans({span(1), span(2)});
  const auto destroy_start = Clock::now();
  e = Status(ErrorCode::kUnavailable, "destroyed");
  EXPECT_LT(Clock::now() - destroy_start, config.shutdown_flush + 500ms);
  if (collector != nullptr) {
    EXPECT_FALSE(collector->bodies().empty());
  }
}

TEST(OtlpHttpExporter, CollectorDown) {
  expect_non_blocking_and_dropping(
      nullptr, "http://127.0.0.1:" + std::to_string(dead_port()) + "/v1/traces");
}

TEST(OtlpHttpExporter, CollectorAnswers500) {
  Collector collector(Mode::kError);
  expect_non_blocking_and_dropping(&collector, collector.endpoint());
}

TEST(OtlpHttpExporter, CollectorSlow) {
  Collector collector(Mode::kSlow);
  expect_non_blocking_and_dropping(&collector, collector.endpoint());
}

TEST(OtlpHttpExporter, DestructorBoundedWithDefaultsAndSlowCollector) {
  Collector collector(Mode::kSlow);
  OtlpHttpConfig c;
  c.endpoint = collector.endpoint();
  auto e = OtlpHttpExporter::create(c);
  ASSERT_TRUE(e.ok());
  for (int i = 0; i < 10; ++i) (*e)->export_spans({span(i)});
  EXPECT_FALSE((*e)->flush(100ms));  // the request is now in flight, stuck in the handler
  const auto start = Clock::now();
  e = Status(ErrorCode::kUnavailable, "destroyed");
  EXPECT_LT(Clock::now() - start, c.shutdown_flush + 1s);
}

}  // namespace
}  // namespace dslmodel::telemetry

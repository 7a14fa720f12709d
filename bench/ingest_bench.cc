// Ingest benchmark: OTLP/JSON exports of 1,000 spans posted to POST /v1/traces by 2 client
// threads for ~10 s, against the target of 1,000,000 spans/minute, and against a reference server
// whose handler only reads the body and answers 200 (same client, same payload).
// Usage: dsl_ingest_bench [seconds]
#include <fmt/format.h>
#include <httplib.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "telemetry/http_server.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr int kSpansPerRequest = 1000;
constexpr int kClients = 2;
constexpr double kTargetPerMinute = 1'000'000;

std::string make_export(int n) {
  std::string spans;
  for (int i = 0; i < n; ++i) {
    if (i > 0) spans += ',';
    spans += fmt::format(
        R"({{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"{:016x}",)"
        R"("parentSpanId":"eee19b7ec3c1b174","name":"swarmsh.agent.work","kind":1,)"
        R"("startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000100000000",)"
        R"("attributes":[{{"key":"work.id","value":{{"stringValue":"w{}"}}}}],"status":{{}}}})",
        i + 1, i);
  }
  return fmt::format(
      R"({{"resourceSpans":[{{"resource":{{"attributes":[{{"key":"service.name","value":)"
      R"({{"stringValue":"bench-agent"}}}}]}},"scopeSpans":[{{"scope":{{"name":"bench"}},)"
      R"("spans":[{}]}}]}}]}})",
      spans);
}

struct Outcome {
  double spans_per_minute = 0;
  long ok = 0;
  long failed = 0;
};

Outcome drive(int port, const std::string& body, std::chrono::seconds duration) {
  std::atomic<long> ok{0};
  std::atomic<long> failed{0};
  const auto start = Clock::now();
  const auto deadline = start + duration;
  std::vector<std::thread> clients;
  clients.reserve(kClients);
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&] {
      httplib::Client c("127.0.0.1", port);
      c.set_keep_alive(true);
      while (Clock::now() < deadline) {
        auto r = c.Post("/v1/traces", body, "application/json");
        (r && r->status == 200 ? ok : failed)++;
      }
    });
  }
  for (auto& t : clients) t.join();
  const double secs = std::chrono::duration<double>(Clock::now() - start).count();
  return {static_cast<double>(ok.load()) * kSpansPerRequest * 60.0 / secs, ok.load(),
          failed.load()};
}

}  // namespace

int main(int argc, char** argv) {
  const std::chrono::seconds duration(argc > 1 ? std::atoi(argv[1]) : 10);
  const std::string body = make_export(kSpansPerRequest);
  const fs::path dir = fs::temp_directory_path() / fmt::format("dsl_ingest_bench_{}", ::getpid());
  fs::create_directories(dir);

  dslmodel::telemetry::ServerConfig cfg;
  cfg.port = 0;
  cfg.receiver.dir = dir;
  auto server = dslmodel::telemetry::MetricsServer::start(std::move(cfg));
  if (!server.ok()) {
    fmt::print(stderr, "ingest_bench: {}\n", server.status().message());
    return 1;
  }
  const Outcome ours = drive((*server)->port(), body, duration);
  (*server)->stop();
  std::size_t files = 0;
  for (const auto& e : fs::directory_iterator(dir)) files += e.is_regular_file() ? 1 : 0;
  fs::remove_all(dir);

  httplib::Server ref;
  ref.Post("/v1/traces", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("{}", "application/json");
  });
  const int ref_port = ref.bind_to_any_port("127.0.0.1");
  std::thread ref_thread([&] { ref.listen_after_bind(); });
  while (!ref.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const Outcome reference = drive(ref_port, body, duration);
  ref.stop();
  ref_thread.join();

  fmt::print("ingest: {} clients x {} spans/request ({} KiB), {} s each\n", kClients,
             kSpansPerRequest, body.size() / 1024, duration.count());
  fmt::print(
      "  /v1/traces (validate + write file): {:>12.0f} spans/min  ({} ok, {} failed, {} files)\n",
      ours.spans_per_minute, ours.ok, ours.failed, files);
  fmt::print("  reference (read body, answer 200):  {:>12.0f} spans/min  ({} ok, {} failed)\n",
             reference.spans_per_minute, reference.ok, reference.failed);
  fmt::print(
      "  target 1,000,000 spans/min: {:.2f}x   ratio to reference: {:.2f}\n",
      ours.spans_per_minute / kTargetPerMinute,
      reference.spans_per_minute > 0 ? ours.spans_per_minute / reference.spans_per_minute : 0.0);
  return ours.spans_per_minute >= kTargetPerMinute && ours.failed == 0 ? 0 : 2;
}

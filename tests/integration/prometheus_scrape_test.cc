// The real Prometheus tools against MetricsServer: promtool accepts /metrics, and a prometheus
// server started here scrapes it and answers queries. Loopback only.
#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "integration/prometheus_helpers.h"
#include "telemetry/http_server.h"
#include "telemetry/prometheus.h"

namespace dslmodel {
namespace {

namespace fs = std::filesystem;
using telemetry::CycleSample;
using telemetry::EngineMetrics;
using telemetry::MetricsServer;

class PrometheusScrapeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (testing::find_tool("promtool").empty() || testing::find_tool("prometheus").empty()) {
      GTEST_SKIP() << "prometheus/promtool not installed (scripts/install-deps.sh)";
    }
    dir_ = fs::temp_directory_path() /
           ("prometheus_scrape_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "coordination");
    CycleSample s;
    s.health_score = 0.73;
    s.active_agents = 4;
    s.work_queue_size = 6;
    s.telemetry_volume = 21;
    s.completion_rate = 0.625;
    s.is_leader = true;
    s.decided_types = {"scale_up", "improve_coordination"};
    s.executed_types = {"scale_up"};
    s.failed_types = {"improve_coordination"};
    s.skipped_reasons = {"dry_run"};
    s.duration_s = 0.042;
    s.spans_dropped_total = 3;
    metrics_.record(s);
    telemetry::ServerConfig cfg;
    cfg.port = 0;
    cfg.metrics = [this] { return metrics_.render(); };
    cfg.ready = [] { return true; };
    cfg.receiver.dir = dir_ / "coordination";
    cfg.receiver.spans_received = &metrics_.otlp_spans_received();
    cfg.receiver.requests_rejected = &metrics_.otlp_requests_rejected();
    auto server = MetricsServer::start(std::move(cfg));
    ASSERT_TRUE(server.ok()) << server.status().message();
    server_ = std::move(server).value();
  }
  void TearDown() override {
    server_.reset();
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  fs::path dir_;
  EngineMetrics metrics_{telemetry::Labels{{"environment", "production"}}};
  std::unique_ptr<MetricsServer> server_;
};

TEST_F(PrometheusScrapeTest, PromtoolAcceptsMetrics) {
  httplib::Client c("127.0.0.1", server_->port());
  auto r = c.Get("/metrics");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
  std::ofstream(dir_ / "metrics.txt") << r->body;
  auto check = testing::promtool_check_metrics(dir_ / "metrics.txt");
  EXPECT_EQ(check.exit_code, 0) << check.output << "\n---\n" << r->body;
}

TEST_F(PrometheusScrapeTest, FreshEngineMetricsPassPromtool) {
  EngineMetrics fresh(telemetry::Labels{{"environment", "production"}});
  std::ofstream(dir_ / "fresh.txt") << fresh.render();
  auto check = testing::promtool_check_metrics(dir_ / "fresh.txt");
  EXPECT_EQ(check.exit_code, 0) << check.output << "\n---\n" << fresh.render();
}

TEST_F(PrometheusScrapeTest, RealPrometheusScrapesHealthScore) {
  auto prom = testing::PrometheusServer::start(server_->port(), dir_ / "prom");
  ASSERT_TRUE(prom->running()) << prom->log();
  auto v = testing::query_until(prom->port(), "autonomous_health_score", std::chrono::seconds(60));
  ASSERT_TRUE(v.has_value()) << prom->log();
  EXPECT_DOUBLE_EQ(*v, 0.73);
  auto leader = testing::query(prom->port(), R"(autonomous_is_leader{environment="production"})");
  ASSERT_TRUE(leader.has_value());
  EXPECT_EQ(*leader, 1.0);
  prom->stop();
  EXPECT_FALSE(prom->running());
}

}  // namespace
}  // namespace dslmodel

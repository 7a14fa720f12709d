// `dsl auto loop` observed from outside: the metrics endpoint, spans to a file and to a
// collector that is down, slow or failing, and the remediation switch.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>

#include <chrono>
#include <regex>
#include <thread>

#include "dslmodel/time.h"
#include "integration/dsl_runner.h"
#include "integration/prometheus_helpers.h"

namespace dslmodel::testing {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

const std::string kFixture = std::string(DSLMODEL_TESTDATA_DIR) + "/dslmodel-demo-coordination";

void copy_fixture(const TempDir& d) { fs::copy(kFixture, d.path(), fs::copy_options::recursive); }

// These loops watch; they start no agents (the loop's default actuator would).
std::string watch_only(const TempDir& d) {
  write_file(d / "watch.toml", "[actuator]\nkind = \"none\"\n");
  return (d / "watch.toml").string();
}

// The port the loop printed: "metrics: http://127.0.0.1:PORT/metrics".
int metrics_port(const DslProcess& p) {
  int port = 0;
  wait_until(
      [&] {
        std::smatch m;
        const std::string err = p.err();
        if (std::regex_search(err, m, std::regex(R"(metrics: http://127\.0\.0\.1:(\d+)/)"))) {
          port = std::stoi(m[1]);
        }
        return port != 0;
      },
      20s);
  return port;
}

TEST(Observe, LoopServesMetricsHealthReadinessAndStatus) {
  TempDir d;
  copy_fixture(d);
  DslProcess loop({"--config", watch_only(d), "auto", "loop", "--interval", "0.2", "--metrics-addr",
                   "127.0.0.1:0", "-c", d.path().string()});
  const int port = metrics_port(loop);
  ASSERT_GT(port, 0) << loop.err();
  httplib::Client http("127.0.0.1", port);
  ASSERT_TRUE(wait_until(
      [&] {
        auto r = http.Get("/readyz");
        return r && r->status == 200;
      },
      20s));
  auto metrics = http.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 200);
  EXPECT_NE(metrics->body.find("autonomous_health_score"), std::string::npos) << metrics->body;
  EXPECT_NE(metrics->body.find("0.28909090909090"), std::string::npos) << metrics->body;
  EXPECT_NE(metrics->body.find("autonomous_active_agents"), std::string::npos);
  EXPECT_NE(metrics->body.find("autonomous_work_queue_size"), std::string::npos);
  EXPECT_NE(metrics->body.find("autonomous_is_leader"), std::string::npos);
  EXPECT_NE(metrics->body.find("autonomous_cycles_total"), std::string::npos);
  // Every name the dashboard and the alert rules may query is really exported.
  std::istringstream names(
      slurp(std::string(DSLMODEL_TESTDATA_DIR) + "/../deploy/exported-metrics.txt"));
  for (std::string name; std::getline(names, name);) {
    if (name.empty() || name[0] == '#') continue;
    EXPECT_NE(metrics->body.find(name), std::string::npos) << name << " not exported";
  }
  auto healthz = http.Get("/healthz");
  ASSERT_TRUE(healthz);
  EXPECT_EQ(healthz->status, 200);
  auto status = http.Get("/status");
  ASSERT_TRUE(status);
  nlohmann::json s = nlohmann::json::parse(status->body, nullptr, false);
  EXPECT_EQ(s["command"], "auto-status");
  EXPECT_EQ(s["data"]["status"]["health_score"].get<double>(), 0.28909090909090907);
  if (std::system("command -v promtool >/dev/null 2>&1") == 0) {
    write_file(d / "metrics.txt", metrics->body);
    const std::string cmd = "promtool check metrics < " + (d / "metrics.txt").string();
    EXPECT_EQ(std::system(cmd.c_str()), 0) << metrics->body;
  }
  loop.signal(SIGTERM);
  EXPECT_EQ(loop.wait(), 0) << loop.err();
}

TEST(Observe, ARealPrometheusScrapesTheLoop) {
  if (find_tool("prometheus").empty()) GTEST_SKIP() << "prometheus is not installed";
  TempDir d;
  copy_fixture(d);
  DslProcess loop({"--config", watch_only(d), "auto", "loop", "--interval", "0.5", "--metrics-addr",
                   "127.0.0.1:0", "-c", d.path().string()});
  const int port = metrics_port(loop);
  ASSERT_GT(port, 0) << loop.err();
  TempDir prom_dir;
  auto prom = PrometheusServer::start(port, prom_dir.path() / "prom");
  ASSERT_TRUE(prom->running()) << prom->log();
  auto value = query_until(prom->port(), "autonomous_health_score", std::chrono::seconds(60));
  prom->stop();
  loop.signal(SIGTERM);
  EXPECT_EQ(loop.wait(), 0) << loop.err();
  ASSERT_TRUE(value.has_value()) << prom->log();
  EXPECT_NEAR(*value, 0.28909090909090907, 1e-12);
}

TEST(Observe, AgentsSendTheirSpansToTheLoopsReceiver) {
  TempDir d;
  for (int i = 0; i < 3; ++i) {
    write_file(d / ("work_t" + std::to_string(i) + ".json"),
               R"({"status":"pending","command":["true"],"max_attempts":1})");
  }
  DslProcess loop({"--config", watch_only(d), "auto", "loop", "--interval", "0.2", "--metrics-addr",
                   "127.0.0.1:0", "-c", d.path().string()});
  const int port = metrics_port(loop);
  ASSERT_GT(port, 0) << loop.err();
  DslRun agent =
      run_dsl({"agent", "run", "--id", "tracer", "--exit-when-idle", "-c", d.path().string()},
              {"OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:" + std::to_string(port)});
  ASSERT_EQ(agent.exit_code, 0) << agent.err;
  httplib::Client http("127.0.0.1", port);
  std::string body;
  EXPECT_TRUE(wait_until(
      [&] {
        auto r = http.Get("/metrics");
        body = r ? r->body : "";
        return body.find("autonomous_otlp_spans_received_total 3") != std::string::npos;
      },
      20s))
      << body;
  int span_files = 0;
  for (const auto& e : fs::directory_iterator(d.path())) {
    const std::string name = e.path().filename().string();
    if (!name.starts_with("telemetry_otlp-")) continue;
    ++span_files;
    EXPECT_NE(slurp(e.path()).find("swarmsh.agent.work_item"), std::string::npos);
  }
  EXPECT_GE(span_files, 1);
  loop.signal(SIGTERM);
  EXPECT_EQ(loop.wait(), 0);
  // Received spans count toward telemetry_volume: 3 per-item records + 3 spans.
  DslRun st = run_dsl({"--json", "auto", "status", "-c", d.path().string()});
  EXPECT_EQ(st.json()["data"]["status"]["telemetry_volume"], 6) << st.out;
}

TEST(Observe, MetricsOffAndABadAddress) {
  TempDir d;
  copy_fixture(d);
  DslRun off = run_dsl({"--config", watch_only(d), "auto", "loop", "--max-cycles", "1",
                        "--metrics-addr", "off", "-c", d.path().string()});
  EXPECT_EQ(off.exit_code, 0) << off.err;
  EXPECT_EQ(off.err.find("metrics:"), std::string::npos);
  DslRun bad = run_dsl({"--config", watch_only(d), "auto", "loop", "--max-cycles", "1",
                        "--metrics-addr", "nonsense", "-c", d.path().string()});
  EXPECT_EQ(bad.exit_code, 2) << bad.err;
  EXPECT_NE(bad.err.find("--metrics-addr"), std::string::npos) << bad.err;
}

TEST(Observe, SpansFileHoldsOneOtlpExportPerCycle) {
  TempDir d;
  copy_fixture(d);
  DslRun r = run_dsl({"--config", watch_only(d), "auto", "loop", "--interval", "0.05",
                      "--max-cycles", "3", "--metrics-addr", "off", "--spans-file",
                      (d / "spans.jsonl").string(), "-c", d.path().string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::istringstream lines(slurp(d / "spans.jsonl"));
  std::string line;
  int exports = 0;
  while (std::getline(lines, line)) {
    nlohmann::json e = nlohmann::json::parse(line, nullptr, false);
    ASSERT_TRUE(e.contains("resourceSpans")) << line;
    const auto& spans = e["resourceSpans"][0]["scopeSpans"][0]["spans"];
    std::set<std::string> names;
    for (const auto& s : spans) names.insert(s["name"].get<std::string>());
    EXPECT_TRUE(names.contains("swarmsh.autonomous.cycle_complete")) << line;
    EXPECT_TRUE(names.contains("swarmsh.autonomous.system_analysis")) << line;
    ++exports;
  }
  EXPECT_EQ(exports, 3);
}

// A collector that is down, 5 s slow, or failing: cycles keep their pace, spans are dropped and
// counted, and shutdown is bounded.
TEST(Observe, CollectorTroubleNeverSlowsTheLoop) {
  httplib::Server slow;
  slow.Post("/v1/traces", [](const httplib::Request&, httplib::Response& res) {
    std::this_thread::sleep_for(5s);
    res.status = 200;
  });
  const int slow_port = slow.bind_to_any_port("127.0.0.1");
  std::thread slow_thread([&] { slow.listen_after_bind(); });
  httplib::Server failing;
  failing.Post("/v1/traces",
               [](const httplib::Request&, httplib::Response& res) { res.status = 500; });
  const int failing_port = failing.bind_to_any_port("127.0.0.1");
  std::thread failing_thread([&] { failing.listen_after_bind(); });
  for (int port : {free_port(), slow_port, failing_port}) {
    TempDir d;
    copy_fixture(d);
    const auto t0 = std::chrono::steady_clock::now();
    DslRun r = run_dsl({"--config", watch_only(d), "auto", "loop", "--interval", "0.1",
                        "--max-cycles", "20", "--metrics-addr", "off", "-c", d.path().string()},
                       {"OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:" + std::to_string(port)});
    const auto took = std::chrono::steady_clock::now() - t0;
    EXPECT_EQ(r.exit_code, 0) << r.err;
    // 20 cycles at 0.1 s take about 2 s; the bounded flush at exit adds at most a few seconds.
    EXPECT_LT(took, 12s) << "port " << port;
    std::smatch m;
    ASSERT_TRUE(std::regex_search(r.out, m, std::regex(R"((\d+) spans dropped)"))) << r.out;
    EXPECT_GT(std::stoi(m[1]), 0) << r.out;
  }
  slow.stop();
  failing.stop();
  slow_thread.join();
  failing_thread.join();
}

TEST(Observe, TheLoopObeysTheRemediationSwitch) {
  TempDir d;
  copy_fixture(d);
  write_file(d / "hook.sh", "#!/bin/sh\necho \"$1\" >> \"$2/hook.log\"\n");
  write_file(d / "dsl.toml", "[actuator]\nscale_command = [\"sh\", \"" + (d / "hook.sh").string() +
                                 "\", \"{target_agents}\", \"" + d.path().string() + "\"]\n");
  const std::string cfg = (d / "dsl.toml").string();
  auto loop_once = [&] {
    return run_dsl({"--config", cfg, "--json", "auto", "loop", "--max-cycles", "1",
                    "--metrics-addr", "off", "-c", d.path().string()});
  };
  ASSERT_EQ(run_dsl({"telemetry", "disable-remediation", "-c", d.path().string()}).exit_code, 0);
  DslRun off = loop_once();
  EXPECT_NE(off.out.find("remediation_disabled"), std::string::npos) << off.out << off.err;
  ASSERT_EQ(run_dsl({"telemetry", "enable-remediation", "-c", d.path().string()}).exit_code, 0);
  DslRun dry = loop_once();
  EXPECT_NE(dry.out.find("dry_run"), std::string::npos) << dry.out;
  EXPECT_FALSE(fs::exists(d / "hook.log"));
  DslRun st = run_dsl({"--json", "auto", "status", "-c", d.path().string()});
  EXPECT_EQ(st.json()["data"]["remediation"]["mode"], "dry_run") << st.out;
  ASSERT_EQ(
      run_dsl({"telemetry", "enable-remediation", "--live", "-c", d.path().string()}).exit_code, 0);
  DslRun live = loop_once();
  EXPECT_EQ(live.exit_code, 0) << live.err;
  EXPECT_EQ(slurp(d / "hook.log"), "5\n") << live.out;
}

}  // namespace
}  // namespace dslmodel::testing

// The dsl commands on the etcd store (`--store etcd://...`), against a real etcd: the same work
// queue, agents, status and OTLP receiver as on the directory, and clear errors for a bad URL or
// an unreachable etcd.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>

#include <chrono>
#include <regex>
#include <thread>

#include "etcd/client.h"
#include "etcd_server.h"
#include "integration/dsl_runner.h"

namespace dslmodel::testing {
namespace {

using namespace std::chrono_literals;

class CliEtcd : public ::testing::Test {
 protected:
  void SetUp() override {
    etcd_ = EtcdServer::start();
    ASSERT_TRUE(etcd_);
    url_ = etcd_->store_url("cli");
  }
  DslRun dsl(std::vector<std::string> args) {
    args.insert(args.begin(), {"--store", url_});
    return run_dsl(args);
  }
  std::unique_ptr<EtcdServer> etcd_;
  std::string url_;
};

TEST_F(CliEtcd, WorkIsAddedListedRunByAnAgentAndCounted) {
  DslRun add = dsl({"--json", "work", "add", "--id", "job-1", "--", "echo", "hello"});
  ASSERT_EQ(add.exit_code, 0) << add.err;
  DslRun list = dsl({"--json", "work", "list"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.out.find("job-1"), std::string::npos) << list.out;
  DslRun dup = dsl({"work", "add", "--id", "job-1", "--", "true"});
  EXPECT_NE(dup.exit_code, 0);

  DslRun agent = dsl({"agent", "run", "--id", "a1", "--exit-when-idle", "--poll-ms", "20"});
  ASSERT_EQ(agent.exit_code, 0) << agent.err;
  EXPECT_NE(agent.out.find("1 completed"), std::string::npos) << agent.out;

  DslRun show = dsl({"--json", "work", "show", "job-1"});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  EXPECT_NE(show.out.find("hello"), std::string::npos) << show.out;

  DslRun status = dsl({"--json", "auto", "status"});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  const nlohmann::json s = status.json()["data"];
  EXPECT_EQ(s["coordination_dir"], url_);
  EXPECT_EQ(s["status"]["succeeded"], 1);
  EXPECT_EQ(s["status"]["work_queue_size"], 0);
  EXPECT_EQ(s["status"]["telemetry_volume"], 1);  // the agent's record of its item
}

TEST_F(CliEtcd, TheLoopsReceiverStoresSpansInEtcd) {
  TempDir d;
  write_file(d / "dsl.toml", "[actuator]\nkind = \"none\"\n");
  DslProcess loop({"--store", url_, "--config", (d / "dsl.toml").string(), "auto", "loop",
                   "--interval", "0.2", "--metrics-addr", "127.0.0.1:0"});
  int port = 0;
  for (auto deadline = std::chrono::steady_clock::now() + 20s;
       port == 0 && std::chrono::steady_clock::now() < deadline;
       std::this_thread::sleep_for(50ms)) {
    std::smatch m;
    const std::string err = loop.err();
    if (std::regex_search(err, m, std::regex(R"(metrics: http://127\.0\.0\.1:(\d+)/)"))) {
      port = std::stoi(m[1]);
    }
  }
  ASSERT_NE(port, 0) << loop.err();
  const std::string spans =
      R"({"resourceSpans":[{"scopeSpans":[{"spans":[)"
      R"({"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"a"},)"
      R"({"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b175","name":"b"},)"
      R"({"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b176","name":"c"}]}]}]})";
  httplib::Client c("127.0.0.1", port);
  auto r = c.Post("/v1/traces", spans, "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  loop.signal(SIGTERM);
  EXPECT_EQ(loop.wait(), 0) << loop.err();

  etcd::Client client({etcd_->endpoint()});
  auto got = client.range("/cli/telemetry/", {.range_end = etcd::prefix_end("/cli/telemetry/")});
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->kvs.size(), 1u);
  EXPECT_TRUE(got->kvs[0].key.starts_with("/cli/telemetry/otlp-")) << got->kvs[0].key;
  DslRun status = dsl({"--json", "auto", "status"});
  EXPECT_EQ(status.json()["data"]["status"]["telemetry_volume"], 3) << status.out;
}

// One switch for every host: the setting lives in etcd, not in a local directory.
TEST_F(CliEtcd, TheRemediationSwitchIsKeptInEtcd) {
  DslRun off = dsl({"--json", "telemetry", "disable-remediation", "-c", "/nonexistent"});
  ASSERT_EQ(off.exit_code, 0) << off.err;
  DslRun status = dsl({"--json", "auto", "status"});
  EXPECT_EQ(status.json()["data"]["remediation"]["mode"], "disabled") << status.out;
  etcd::Client client({etcd_->endpoint()});
  auto doc = client.range("/cli/state/settings");
  ASSERT_TRUE(doc.ok());
  ASSERT_EQ(doc->kvs.size(), 1u);
  EXPECT_NE(doc->kvs[0].value.find("\"enabled\":false"), std::string::npos) << doc->kvs[0].value;
  ASSERT_EQ(dsl({"telemetry", "enable-remediation", "--live"}).exit_code, 0);
  EXPECT_EQ(dsl({"--json", "auto", "status"}).json()["data"]["remediation"]["mode"], "live");
}

TEST_F(CliEtcd, BadStoreUrlIsAUsageErrorNamingIt) {
  DslRun r = run_dsl({"--store", "redis://127.0.0.1:1/x", "auto", "status"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("redis://127.0.0.1:1/x"), std::string::npos) << r.err;
  DslRun env = run_dsl({"auto", "status"}, {"DSLMODEL_STORE=etcd://"});
  EXPECT_EQ(env.exit_code, 2) << env.err;
}

TEST_F(CliEtcd, UnreachableEtcdFailsTheCommandWithExitOne) {
  etcd_->stop();
  const auto start = std::chrono::steady_clock::now();
  DslRun r = dsl({"--json", "auto", "status"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_EQ(r.json()["success"], false);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 30s);  // no hang
  DslRun add = dsl({"work", "add", "--", "true"});
  EXPECT_EQ(add.exit_code, 1) << add.err;
}

}  // namespace
}  // namespace dslmodel::testing

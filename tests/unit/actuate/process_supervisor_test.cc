#include "actuate/process_supervisor.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "actuate/proc_info.h"
#include "actuate/supervisor_state.h"
#include "platform/spawn.h"

namespace dslmodel::actuate {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

// Polls `pred` (tests may sleep; the supervisor never does).
bool eventually(const std::function<bool()>& pred, milliseconds timeout = 5000ms) {
  auto deadline = steady_clock::now() + timeout;
  while (steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return pred();
}

// True while pid runs (a zombie does not count).
bool running(pid_t pid) {
  auto stat = read_proc_stat(pid);
  return stat && stat->state != 'Z' && stat->state != 'X';
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::set<std::string> ids_of(const std::vector<SupervisedAgent>& agents) {
  std::set<std::string> ids;
  for (const auto& a : agents) ids.insert(a.id);
  return ids;
}

std::set<std::string> json_ids(const nlohmann::json& array) {
  std::set<std::string> ids;
  for (const auto& id : array) ids.insert(id.get<std::string>());
  return ids;
}

// Fake agents are `sleep` or small sh scripts; the supervisor itself never uses a shell.
class ProcessSupervisorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "dsl-super-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    // Writes the agent id to term.log on SIGTERM, then exits.
    write_script("term.sh",
                 "#!/bin/sh\n"
                 "trap 'echo \"$1\" >> \"" +
                     (dir_ / "term.log").string() +
                     "\"; kill $child 2>/dev/null; exit 0' TERM\n"
                     "sleep 300 & child=$!\n"
                     "wait $child\n");
    // Ignores SIGTERM; records the pid of its own child to check the group is killed.
    write_script("stubborn.sh",
                 "#!/bin/sh\n"
                 "trap '' TERM\n"
                 "sleep 300 & echo $! > \"" +
                     (dir_ / "child_").string() +
                     "$1\"\n"
                     "wait\n");
  }

  void TearDown() override {
    for (auto& actuator : actuators_) {
      if (actuator) (void)actuator->stop_all(200ms);
    }
    actuators_.clear();
    for (const auto& [pid, start] : tracked_) {
      auto stat = read_proc_stat(pid);
      if (stat && stat->start_time == start) ::kill(pid, SIGKILL);
    }
    while (::waitpid(-1, nullptr, WNOHANG) > 0) {
    }
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  void write_script(const std::string& name, const std::string& body) {
    fs::path p = dir_ / name;
    std::ofstream(p) << body;
    fs::permissions(p, fs::perms::owner_all);
  }

  SupervisorConfig config(std::vector<std::string> argv = {"sleep", "300"}) const {
    SupervisorConfig c;
    c.agent_command = std::move(argv);
    c.coordination_dir = dir_.string();
    c.grace = 2000ms;
    c.backoff_initial = 300ms;
    c.backoff_max = 2000ms;
    return c;
  }

  ProcessActuator& make(SupervisorConfig c) {
    auto created = ProcessActuator::create(std::move(c), clock_);
    EXPECT_TRUE(created.ok()) << created.status().message();
    actuators_.push_back(std::move(created).value());
    return *actuators_.back();
  }

  // Remembers the agents' processes so TearDown can kill what a failed test left behind.
  std::vector<SupervisedAgent> track(const ProcessActuator& actuator) {
    auto agents = actuator.agents();
    for (const auto& a : agents) {
      if (auto stat = read_proc_stat(a.pid)) tracked_.emplace_back(a.pid, stat->start_time);
    }
    return agents;
  }

  ActuationResult scale(ProcessActuator& actuator, int target, std::vector<std::string> pref = {},
                        std::string decision = "d") {
    ScaleRequest req;
    req.current_agents = static_cast<int>(actuator.agents().size());
    req.target_agents = target;
    req.decision_id = std::move(decision);
    req.stop_preference = std::move(pref);
    auto result = actuator.scale(req);
    EXPECT_TRUE(result.ok()) << result.status().message();
    track(actuator);
    return result.ok() ? *result : ActuationResult{};
  }

  std::vector<SupervisorEntry> state_records() const {
    auto state = load_state(dir_ / ".dsl" / "supervisor.json");
    EXPECT_TRUE(state.ok()) << state.status().message();
    return state.ok() ? state->records : std::vector<SupervisorEntry>{};
  }

  fs::path dir_;
  SystemClock clock_;
  std::vector<std::unique_ptr<ProcessActuator>> actuators_;
  std::vector<std::pair<pid_t, std::uint64_t>> tracked_;
};

TEST_F(ProcessSupervisorTest, AgentsItDoesNotRunTakeTheirShareOfTheTarget) {
  auto& sup = make(config());
  ScaleRequest req;
  req.current_agents = 1;
  req.target_agents = 4;
  req.decision_id = "d";
  req.active_agents = {"outsider"};
  auto r = sup.scale(req);
  ASSERT_TRUE(r.ok()) << r.status().message();
  track(sup);
  EXPECT_EQ(sup.agents().size(), 3u) << "1 outsider + 3 supervised = 4";
  auto own = sup.agents();
  req.target_agents = 2;
  req.active_agents = {"outsider", own[0].id, own[1].id, own[2].id};
  ASSERT_TRUE(sup.scale(req).ok());
  EXPECT_EQ(sup.agents().size(), 1u) << "1 outsider + 1 supervised = 2";
}

TEST_F(ProcessSupervisorTest, ScaleUpStartsRecordedAgentsInTheirOwnSessions) {
  auto& sup = make(config());
  EXPECT_EQ(sup.name(), "process");
  ActuationResult r = scale(sup, 3);
  auto agents = sup.agents();
  ASSERT_EQ(agents.size(), 3u);
  EXPECT_EQ(r.summary.rfind("started 3 agents (agent-", 0), 0u) << r.summary;
  EXPECT_EQ(json_ids(r.inverse["started"]), ids_of(agents));
  EXPECT_EQ(r.inverse["kind"], "process");
  std::set<pid_t> pids;
  for (const auto& a : agents) {
    EXPECT_TRUE(running(a.pid));
    EXPECT_EQ(::getsid(a.pid), a.pid) << "own session";
    EXPECT_FALSE(a.adopted);
    EXPECT_EQ(a.decision_id, "d");
    EXPECT_NE(r.output.find(std::to_string(a.pid)), std::string::npos);
    EXPECT_TRUE(fs::exists(dir_ / ".dsl" / "logs" / (a.id + ".log")));
    pids.insert(a.pid);
  }
  auto records = state_records();
  ASSERT_EQ(records.size(), 3u);
  for (const auto& rec : records) {
    EXPECT_TRUE(pids.contains(rec.pid));
    EXPECT_EQ(rec.start_time, read_proc_stat(rec.pid)->start_time);
  }
  EXPECT_EQ(sup.stats().started, 3u);
}

TEST_F(ProcessSupervisorTest, PlaceholdersAreSubstitutedWithoutAShell) {
  write_script("echo_args.sh", "#!/bin/sh\nfor a in \"$@\"; do echo \"arg:$a\"; done\nsleep 300\n");
  auto& sup = make(config({(dir_ / "echo_args.sh").string(), "--id", "{agent_id}", "-c",
                           "{coordination_dir}", "$(touch pwned);{x"}));
  scale(sup, 1);
  auto agents = sup.agents();
  ASSERT_EQ(agents.size(), 1u);
  fs::path log = dir_ / ".dsl" / "logs" / (agents[0].id + ".log");
  ASSERT_TRUE(eventually([&] { return slurp(log).find("{x") != std::string::npos; }));
  std::string text = slurp(log);
  EXPECT_NE(text.find("arg:" + agents[0].id), std::string::npos) << text;
  EXPECT_NE(text.find("arg:" + dir_.string()), std::string::npos) << text;
  EXPECT_NE(text.find("arg:$(touch pwned);{x"), std::string::npos) << text;
  EXPECT_FALSE(fs::exists("pwned"));
}

TEST_F(ProcessSupervisorTest, ScaleDownStopsExactlyTheSurplusInPreferenceOrder) {
  auto& sup = make(config());
  scale(sup, 3);
  auto before = sup.agents();
  ASSERT_EQ(before.size(), 3u);
  ActuationResult r = scale(sup, 1, {before[2].id, "not-ours", before[0].id, before[1].id});
  EXPECT_EQ(r.inverse, (nlohmann::json{{"kind", "process"}, {"stopped", 2}}));
  EXPECT_EQ(r.summary.rfind("stopped 2 agents", 0), 0u) << r.summary;
  auto after = sup.agents();
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].id, before[1].id);
  EXPECT_TRUE(running(before[1].pid));
  EXPECT_FALSE(running(before[0].pid));
  EXPECT_FALSE(running(before[2].pid));
  ASSERT_EQ(state_records().size(), 1u);
  EXPECT_EQ(state_records()[0].id, before[1].id);
  EXPECT_EQ(sup.stats().stopped, 2u);
  EXPECT_EQ(sup.stats().deaths, 0u) << "a requested stop is not a death";
}

TEST_F(ProcessSupervisorTest, ScaleDownWithoutPreferenceStopsNewestFirst) {
  auto& sup = make(config());
  for (int n = 1; n <= 3; ++n) {
    scale(sup, n);
    std::this_thread::sleep_for(5ms);  // distinct started_at
  }
  auto before = sup.agents();  // oldest first
  ASSERT_EQ(before.size(), 3u);
  scale(sup, 1);
  auto after = sup.agents();
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].id, before[0].id);
}

TEST_F(ProcessSupervisorTest, StopSendsTermFirst) {
  auto& sup = make(config({"/bin/sh", (dir_ / "term.sh").string(), "{agent_id}"}));
  scale(sup, 2);
  auto agents = sup.agents();
  std::this_thread::sleep_for(200ms);  // let the scripts install their trap
  auto start = steady_clock::now();
  ActuationResult r = scale(sup, 0);
  EXPECT_LT(steady_clock::now() - start, 1500ms);
  std::string log = slurp(dir_ / "term.log");
  for (const auto& a : agents) {
    EXPECT_NE(log.find(a.id), std::string::npos) << log;
    EXPECT_FALSE(running(a.pid));
  }
  EXPECT_EQ(sup.stats().killed, 0u);
  EXPECT_EQ(r.summary.find("killed"), std::string::npos) << r.summary;
}

TEST_F(ProcessSupervisorTest, KillsAgentAndItsGroupAfterGraceWhenTermIsIgnored) {
  SupervisorConfig c = config({"/bin/sh", (dir_ / "stubborn.sh").string(), "{agent_id}"});
  c.grace = 300ms;
  auto& sup = make(c);
  scale(sup, 1);
  auto agent = sup.agents().at(0);
  fs::path child_file = dir_ / ("child_" + agent.id);
  ASSERT_TRUE(eventually([&] { return !slurp(child_file).empty(); }));
  pid_t child = std::stoi(slurp(child_file));
  ASSERT_TRUE(running(child));
  tracked_.emplace_back(child, read_proc_stat(child)->start_time);
  auto start = steady_clock::now();
  ActuationResult r = scale(sup, 0);
  EXPECT_GE(steady_clock::now() - start, 300ms);
  EXPECT_FALSE(running(agent.pid));
  EXPECT_TRUE(eventually([&] { return !running(child); })) << "the agent's group is killed too";
  EXPECT_EQ(sup.stats().killed, 1u);
  EXPECT_NE(r.summary.find("1 killed after 300ms"), std::string::npos) << r.summary;
}

TEST_F(ProcessSupervisorTest, AgentBeingStoppedStaysRecordedUntilGone) {
  SupervisorConfig c = config({"/bin/sh", (dir_ / "stubborn.sh").string(), "{agent_id}"});
  c.grace = 600ms;
  auto& sup = make(c);
  scale(sup, 1);
  auto agent = sup.agents().at(0);
  ASSERT_TRUE(eventually([&] { return !slurp(dir_ / ("child_" + agent.id)).empty(); }));
  std::thread stopper([&] { scale(sup, 0); });
  std::this_thread::sleep_for(300ms);
  EXPECT_TRUE(sup.agents().empty()) << "no longer counted as live";
  auto during = state_records();
  stopper.join();
  ASSERT_EQ(during.size(), 1u) << "a supervisor dying now would leave it adoptable";
  EXPECT_EQ(during[0].id, agent.id);
  EXPECT_TRUE(state_records().empty());
}

TEST_F(ProcessSupervisorTest, UndoOfScaleUpStopsExactlyTheAgentsItStarted) {
  auto& sup = make(config());
  ActuationResult first = scale(sup, 2, {}, "d1");
  ActuationResult second = scale(sup, 4, {}, "d2");
  auto undo = sup.undo(second.inverse);
  ASSERT_TRUE(undo.ok()) << undo.status().message();
  EXPECT_EQ(ids_of(sup.agents()), json_ids(first.inverse["started"]));
  EXPECT_EQ(undo->inverse, (nlohmann::json{{"kind", "process"}, {"stopped", 2}}));
  // Undoing it again stops nothing: those agents are gone.
  auto again = sup.undo(second.inverse);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(sup.agents().size(), 2u);
}

TEST_F(ProcessSupervisorTest, UndoOfScaleDownStartsThatMany) {
  auto& sup = make(config());
  scale(sup, 3);
  ActuationResult down = scale(sup, 1);
  auto undo = sup.undo(down.inverse);
  ASSERT_TRUE(undo.ok()) << undo.status().message();
  track(sup);
  EXPECT_EQ(sup.agents().size(), 3u);
  EXPECT_EQ(undo->inverse["started"].size(), 2u);
}

TEST_F(ProcessSupervisorTest, UndoRejectsForeignInverses) {
  auto& sup = make(config());
  for (const auto& bad : {nlohmann::json{{"kind", "command"}, {"stopped", 1}},
                          nlohmann::json{{"kind", "process"}, {"stopped", -1}},
                          nlohmann::json{{"kind", "process"}, {"started", {1, 2}}},
                          nlohmann::json{{"kind", 3}}, nlohmann::json::array()}) {
    auto r = sup.undo(bad);
    ASSERT_FALSE(r.ok()) << bad.dump();
    EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
  }
  EXPECT_TRUE(sup.agents().empty());
}

TEST_F(ProcessSupervisorTest, DeadAgentIsReapedAndReplacedAfterBackoff) {
  auto& sup = make(config());
  scale(sup, 2);
  auto before = sup.agents();
  auto killed_at = steady_clock::now();
  ASSERT_EQ(::kill(before[0].pid, SIGKILL), 0);
  ASSERT_TRUE(eventually([&] { return sup.stats().deaths == 1; }));
  EXPECT_FALSE(running(before[0].pid));
  ASSERT_TRUE(eventually([&] { return sup.stats().replacements == 1; }));
  EXPECT_GE(steady_clock::now() - killed_at, 300ms) << "replacement waits for the backoff";
  auto after = track(sup);
  ASSERT_EQ(after.size(), 2u);
  EXPECT_FALSE(ids_of(after).contains(before[0].id));
  EXPECT_TRUE(ids_of(after).contains(before[1].id));
  ASSERT_TRUE(eventually([&] { return state_records().size() == 2; }));
  for (const auto& rec : state_records()) {
    if (rec.id != before[1].id) {
      EXPECT_EQ(rec.slot, before[0].id);
      EXPECT_EQ(rec.deaths, 1);
    }
  }
  // Undoing the scale-up also stops the replacement in that slot.
  auto undo = sup.undo({{"kind", "process"}, {"started", {before[0].id}}});
  ASSERT_TRUE(undo.ok());
  EXPECT_EQ(ids_of(sup.agents()), std::set<std::string>{before[1].id});
}

TEST_F(ProcessSupervisorTest, CrashLoopBacksOffExponentially) {
  SupervisorConfig c = config({"/bin/false"});
  c.backoff_initial = 100ms;
  c.backoff_max = 400ms;
  auto& sup = make(c);
  auto start = steady_clock::now();
  scale(sup, 1);
  // Deaths at ~0, then after 100, 200, 400, 400 ms of backoff (+ up to 200 ms detection each).
  ASSERT_TRUE(eventually([&] { return sup.stats().deaths >= 4; }, 10s));
  EXPECT_GE(steady_clock::now() - start, 700ms);
  EXPECT_LE(sup.stats().replacements, sup.stats().deaths);
  ASSERT_TRUE(sup.stop_all(100ms).ok());
  EXPECT_EQ(sup.pending_replacements(), 0u);
}

TEST_F(ProcessSupervisorTest, WithoutReplaceDeadADeadAgentIsOnlyReaped) {
  SupervisorConfig c = config();
  c.replace_dead = false;
  auto& sup = make(c);
  scale(sup, 2);
  auto before = sup.agents();
  ASSERT_EQ(::kill(before[1].pid, SIGKILL), 0);
  ASSERT_TRUE(eventually([&] { return sup.stats().deaths == 1; }));
  std::this_thread::sleep_for(600ms);
  EXPECT_EQ(sup.stats().replacements, 0u);
  EXPECT_EQ(sup.pending_replacements(), 0u);
  EXPECT_EQ(ids_of(sup.agents()), std::set<std::string>{before[0].id});
  EXPECT_EQ(state_records().size(), 1u);
}

TEST_F(ProcessSupervisorTest, RestartAdoptsRunningAgentsWithoutDoubleCounting) {
  std::vector<SupervisedAgent> before;
  {
    auto& first = make(config());
    scale(first, 2);
    before = first.agents();
    actuators_.clear();  // destroys it: the agents keep running
  }
  for (const auto& a : before) EXPECT_TRUE(running(a.pid));
  auto& second = make(config());
  auto adopted = second.agents();
  ASSERT_EQ(adopted.size(), 2u);
  for (const auto& a : adopted) EXPECT_TRUE(a.adopted);
  EXPECT_EQ(ids_of(adopted), ids_of(before));
  EXPECT_EQ(second.stats().adopted, 2u);
  ActuationResult r = scale(second, 2);
  EXPECT_EQ(r.summary.rfind("already at 2 agents", 0), 0u) << r.summary;
  EXPECT_EQ(second.stats().started, 0u);
  // An adopted agent that dies is noticed and replaced too.
  ASSERT_EQ(::kill(adopted[0].pid, SIGKILL), 0);
  ASSERT_TRUE(eventually([&] { return second.stats().replacements == 1; }));
  EXPECT_EQ(track(second).size(), 2u);
  // And stopping an adopted agent works.
  scale(second, 0);
  EXPECT_FALSE(running(adopted[1].pid));
}

TEST_F(ProcessSupervisorTest, RecordWithReusedPidIsDroppedAndNeverSignalled) {
  auto bystander = platform::spawn_detached({"sleep", "300"}, dir_ / "bystander.log");
  ASSERT_TRUE(bystander.ok());
  auto real_start = read_proc_stat(*bystander)->start_time;
  tracked_.emplace_back(*bystander, real_start);
  std::vector<SupervisorEntry> records = {
      {"ghost-1", "ghost-1", *bystander, real_start + 1, {}, "d", 0},
      {"ghost-2", "ghost-2", ::getpid(), read_proc_stat(::getpid())->start_time + 7, {}, "d", 0},
      {"gone-3", "gone-3", 999999, 12, {}, "d", 0}};
  ASSERT_TRUE(save_state(dir_ / ".dsl" / "supervisor.json", records).ok());
  auto& sup = make(config());
  EXPECT_TRUE(sup.agents().empty());
  EXPECT_EQ(sup.stats().stale_records, 3u);
  EXPECT_EQ(sup.stats().adopted, 0u);
  EXPECT_TRUE(state_records().empty()) << "stale records are dropped from the file";
  ASSERT_TRUE(sup.stop_all(100ms).ok());
  scale(sup, 0);
  std::this_thread::sleep_for(300ms);
  EXPECT_TRUE(running(*bystander));
  ::kill(*bystander, SIGKILL);
  ::waitpid(*bystander, nullptr, 0);
}

TEST_F(ProcessSupervisorTest, CorruptStateFileIsMovedAsideNotFatal) {
  fs::create_directories(dir_ / ".dsl");
  std::ofstream(dir_ / ".dsl" / "supervisor.json") << "{not json";
  auto& sup = make(config());
  EXPECT_TRUE(sup.stats().state_file_corrupt);
  EXPECT_TRUE(fs::exists(dir_ / ".dsl" / "supervisor.json.corrupt"));
  scale(sup, 1);
  EXPECT_EQ(state_records().size(), 1u);
}

TEST_F(ProcessSupervisorTest, UnstartableProgramFailsWithoutLeavingAgents) {
  auto& sup = make(config({(dir_ / "no-such-agent").string()}));
  ScaleRequest req;
  req.target_agents = 2;
  auto r = sup.scale(req);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kUnavailable);
  EXPECT_NE(r.status().message().find("no-such-agent"), std::string::npos);
  EXPECT_TRUE(sup.agents().empty());
  EXPECT_TRUE(state_records().empty());
}

TEST_F(ProcessSupervisorTest, CreateRejectsBadConfig) {
  SystemClock clock;
  auto bad_placeholder = ProcessActuator::create(config({"x", "{agent}"}), clock);
  ASSERT_FALSE(bad_placeholder.ok());
  EXPECT_NE(bad_placeholder.status().message().find("{agent}"), std::string::npos);
  EXPECT_FALSE(ProcessActuator::create(config({}), clock).ok());
  SupervisorConfig no_dir = config();
  no_dir.coordination_dir.clear();
  EXPECT_FALSE(ProcessActuator::create(no_dir, clock).ok());
  SupervisorConfig bad_prefix = config();
  bad_prefix.id_prefix = "../x";
  EXPECT_FALSE(ProcessActuator::create(bad_prefix, clock).ok());
  ScaleRequest negative;
  negative.target_agents = -1;
  EXPECT_EQ(make(config()).scale(negative).status().code(), ErrorCode::kInvalidArgument);
}

TEST_F(ProcessSupervisorTest, StopAllStopsEverything) {
  auto& sup = make(config());
  scale(sup, 3);
  auto agents = sup.agents();
  ASSERT_TRUE(sup.stop_all(1000ms).ok());
  EXPECT_TRUE(sup.agents().empty());
  for (const auto& a : agents) EXPECT_FALSE(running(a.pid));
  EXPECT_TRUE(state_records().empty());
}

TEST(ProcStatTest, ParsesStateAndStartTimeAfterAWeirdCommandName) {
  std::string line =
      "4242 (a) b (c)) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 "
      "987654 2000 100 18446744073709551615";
  auto stat = parse_proc_stat(line);
  ASSERT_TRUE(stat.has_value());
  EXPECT_EQ(stat->state, 'S');
  EXPECT_EQ(stat->start_time, 987654u);
  EXPECT_FALSE(parse_proc_stat("12 (x) S 1 2").has_value());
  EXPECT_FALSE(parse_proc_stat("garbage").has_value());
  auto self = read_proc_stat(::getpid());
  ASSERT_TRUE(self.has_value());
  EXPECT_GT(self->start_time, 0u);
}

TEST(ProcessHandleTest, ProcOnlyModeChecksStartTimeBeforeEverySignal) {
  for (auto mode : {ProcessHandle::Mode::kPidfd, ProcessHandle::Mode::kProcOnly}) {
    auto pid = platform::spawn_detached({"sleep", "300"}, "/dev/null");
    ASSERT_TRUE(pid.ok());
    auto handle = ProcessHandle::attach_child(*pid, mode);
    ASSERT_TRUE(handle.has_value());
    EXPECT_EQ(handle->has_pidfd(), mode == ProcessHandle::Mode::kPidfd);
    EXPECT_FALSE(ProcessHandle::adopt(*pid, handle->start_time() + 1, mode).has_value());
    EXPECT_FALSE(handle->exited());
    EXPECT_TRUE(handle->signal(SIGTERM));
    EXPECT_EQ(wait_exited({&*handle}, steady_clock::now() + 5s), 0u);
    EXPECT_TRUE(handle->exited());
    handle->reap();
    EXPECT_EQ(::waitpid(*pid, nullptr, WNOHANG), -1) << "already reaped";
    EXPECT_FALSE(handle->signal(SIGTERM));
  }
}

// Measures the supervisor's own cost with 100 idle agents. Run with
// --gtest_also_run_disabled_tests; prints the figures for docs/performance.md.
TEST_F(ProcessSupervisorTest, DISABLED_IdleCostWith100Agents) {
  auto& sup = make(config());
  auto spawn_start = steady_clock::now();
  scale(sup, 100);
  std::printf(
      "scale 0->100: %lld ms\n",
      static_cast<long long>(
          std::chrono::duration_cast<milliseconds>(steady_clock::now() - spawn_start).count()));
  ASSERT_EQ(sup.agents().size(), 100u);
  auto cpu = [] {
    rusage u{};
    ::getrusage(RUSAGE_SELF, &u);
    return std::chrono::microseconds(u.ru_utime.tv_sec * 1000000 + u.ru_utime.tv_usec +
                                     u.ru_stime.tv_sec * 1000000 + u.ru_stime.tv_usec);
  };
  auto rss_kb = [] {
    std::ifstream in("/proc/self/status");
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
    }
    return 0L;
  };
  auto cpu0 = cpu();
  auto wall0 = steady_clock::now();
  std::this_thread::sleep_for(10s);
  auto used = cpu() - cpu0;
  auto wall = std::chrono::duration_cast<milliseconds>(steady_clock::now() - wall0);
  std::printf("100 idle agents: CPU %lld us over %lld ms (%.3f%% of one core), VmRSS %ld kB\n",
              static_cast<long long>(used.count()), static_cast<long long>(wall.count()),
              100.0 * static_cast<double>(used.count()) / (1000.0 * wall.count()), rss_kb());
  EXPECT_EQ(sup.stats().deaths, 0u);
  auto start = steady_clock::now();
  ASSERT_TRUE(sup.stop_all(2000ms).ok());
  std::printf("stop_all of 100 agents: %lld ms\n",
              static_cast<long long>(
                  std::chrono::duration_cast<milliseconds>(steady_clock::now() - start).count()));
}

}  // namespace
}  // namespace dslmodel::actuate

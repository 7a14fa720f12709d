// Agent: the claim/run/report loop. All WorkQueue calls happen on the thread that called run();
// a runner thread supervises the item's process while this thread keeps heartbeating.
#include "agent/agent.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include "agent/child_runner.h"
#include "platform/processes.h"

namespace dslmodel::agent {
namespace {

using SteadyClock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr std::size_t kOutputTail = 4096;
// A status change (a new item started) is written this soon, not at the next regular beat, so
// fast items cost no extra writes and a long one shows up as current_work.
constexpr milliseconds kStatusSettle{50};
// With exit_when_idle, give up after this many claim errors in a row.
constexpr int kMaxClaimErrors = 3;

Completion refused_completion(const char* why) {
  Completion c;
  c.success = false;
  c.exit_code = -1;
  c.error = why;
  return c;
}

Completion completion_of(const Result<ChildResult>& r, milliseconds timeout) {
  Completion c;
  if (!r.ok()) {
    c.exit_code = r.status().code() == ErrorCode::kUnavailable ? 127 : -1;
    c.error = r.status().message();
    return c;
  }
  c.exit_code = r->exit_code;
  c.duration_ms = r->duration.count();
  c.output = r->output;
  if (r->timed_out) {
    c.error = fmt::format("timed out after {} ms", timeout.count());
  } else if (r->signal != 0) {
    c.error = fmt::format("killed by signal {}", r->signal);
  } else if (r->exit_code != 0) {
    c.error = fmt::format("exited with status {}", r->exit_code);
  }
  c.success = !r->timed_out && r->signal == 0 && r->exit_code == 0;
  return c;
}

// How an item's process is run: its command or the prompt handler, the item's timeout (or the
// agent's default) and the agent's grace periods.
ChildSpec child_spec(const AgentConfig& cfg, const WorkItem& item, std::vector<std::string> argv,
                     std::string input) {
  ChildSpec spec;
  spec.argv = std::move(argv);
  spec.stdin_data = std::move(input);
  spec.timeout = item.timeout.value_or(cfg.default_timeout);
  spec.stop_grace = cfg.grace;
  spec.kill_grace = cfg.kill_grace;
  spec.max_output = kOutputTail;
  return spec;
}

const char* to_string(FinishOutcome o) {
  switch (o) {
    case FinishOutcome::kCompleted:
      return "completed";
    case FinishOutcome::kRetrying:
      return "retrying";
    case FinishOutcome::kFailed:
      return "failed";
  }
  return "unknown";
}

}  // namespace

struct Agent::RunResult {
  Completion completion;
  bool cancelled = false;  // cut short by a stop: release, do not finish
};

// What the runner thread and the agent's thread share while an item runs; guarded by `mu`.
struct Agent::ChildWatch {
  std::mutex mu;
  std::condition_variable cv;
  std::optional<Result<ChildResult>> result;  // set once the child is done
  std::optional<StartedChild> started;        // set once it runs
};

Agent::Agent(WorkQueue& queue, AgentConfig cfg, const Clock& clock)
    : queue_(queue), cfg_(std::move(cfg)), clock_(clock) {}

AgentStats Agent::run(const std::stop_token& stop) {
  stats_ = {};
  created_ = clock_.now();
  if (auto self = platform::read_proc_stat(::getpid())) self_start_ = self->start_time;
  heartbeat("idle");
  int claim_errors = 0;
  while (should_claim(stop)) {
    auto claimed = queue_.claim_next(cfg_.id, cfg_.default_timeout + cfg_.lease);
    if (!claimed.ok()) {
      ++stats_.store_errors;
      spdlog::warn("agent {}: claim failed: {}", cfg_.id, claimed.status().message());
      if (cfg_.exit_when_idle && ++claim_errors >= kMaxClaimErrors) break;
      wait_idle(stop);
      continue;
    }
    claim_errors = 0;
    if (!claimed->has_value()) {
      if (cfg_.exit_when_idle) break;
      wait_idle(stop);
      continue;
    }
    ++stats_.claimed;
    process(**claimed, stop);
    heartbeat_if_due(last_status_, last_work_);
  }
  heartbeat("stopped");
  return stats_;
}

bool Agent::should_claim(const std::stop_token& stop) const {
  return !stop.stop_requested() && !store_gone_ &&
         (cfg_.max_items <= 0 || stats_.claimed < cfg_.max_items);
}

void Agent::process(const WorkItem& item, const std::stop_token& stop) {
  spdlog::info("agent {}: claimed {} (attempt {})", cfg_.id, item.id, item.attempts + 1);
  if (stop.stop_requested()) {
    RunResult unrun;
    unrun.cancelled = true;
    report(item, unrun);
    return;
  }
  report(item, execute(item, stop));
}

Agent::RunResult Agent::execute(const WorkItem& item, const std::stop_token& stop) {
  RunResult o;
  if (item.command_invalid) {
    o.completion = refused_completion(kInvalidCommandError);
  } else if (!item.command.empty()) {
    o = supervise(item, item.command, {}, stop);
  } else if (!item.prompt) {
    o.completion = refused_completion(kNoPayloadError);
  } else if (cfg_.prompt_handler.empty()) {
    o.completion = refused_completion(kNoPromptHandlerError);
  } else {
    o = supervise(item, cfg_.prompt_handler, *item.prompt, stop);
  }
  return o;
}

Agent::RunResult Agent::supervise(const WorkItem& item, std::vector<std::string> argv,
                                  std::string input, const std::stop_token& stop) {
  ChildSpec spec = child_spec(cfg_, item, std::move(argv), std::move(input));
  ChildWatch w;
  spec.on_start = [&w](const StartedChild& c) {
    std::lock_guard lock(w.mu);
    w.started = c;
    w.cv.notify_all();
  };
  // The runner stops its child when this agent is stopped, and also when this function is left
  // by an exception: the child never outlives the claim's handling.
  std::stop_source cancel;
  std::stop_callback forward(stop, [&cancel] { cancel.request_stop(); });
  struct CancelOnExit {
    std::stop_source& s;
    ~CancelOnExit() { s.request_stop(); }
  };
  std::jthread runner([&] {
    auto r = run_child(spec, cancel.get_token());
    std::lock_guard lock(w.mu);
    w.result.emplace(std::move(r));
    w.cv.notify_all();
  });
  const CancelOnExit cancel_on_exit{cancel};
  std::stop_callback wake(stop, [&w] {
    std::lock_guard lock(w.mu);
    w.cv.notify_all();
  });
  const Result<ChildResult> result = watch_child(item, w, stop);
  RunResult o;
  o.completion = completion_of(result, spec.timeout);
  o.cancelled = result.ok() && result->cancelled;
  return o;
}

Result<ChildResult> Agent::watch_child(const WorkItem& item, ChildWatch& w,
                                       const std::stop_token& stop) {
  next_heartbeat_ = std::min(next_heartbeat_, SteadyClock::now() + kStatusSettle);
  bool draining = false;
  bool noted = false;
  std::unique_lock lock(w.mu);
  while (!w.result) {
    w.cv.wait_until(lock, next_heartbeat_, [&] {
      return w.result.has_value() || (!draining && stop.stop_requested()) ||
             (!noted && w.started.has_value());
    });
    if (w.result) break;
    if (!noted && w.started) {
      noted = true;
      const StartedChild child = *w.started;
      lock.unlock();
      note_processes(item, child);
      lock.lock();
      continue;
    }
    const bool now_draining = stop.stop_requested();
    const bool started_draining = now_draining && !draining;
    draining = now_draining;
    lock.unlock();
    if (started_draining) next_heartbeat_ = SteadyClock::now();
    heartbeat_if_due(draining ? "draining" : "busy", item.id);
    lock.lock();
  }
  return std::move(*w.result);
}

void Agent::note_processes(const WorkItem& item, const StartedChild& child) {
  ClaimProcesses p;
  p.host = cfg_.host;
  p.pid_space = platform::pid_space();
  p.pid = static_cast<std::int64_t>(::getpid());
  p.pid_start = self_start_;
  p.pgid = static_cast<std::int64_t>(child.pgid);
  p.pgid_start = child.start_time;
  if (Status s = queue_.note_processes(item, cfg_.id, p); !s.ok()) {
    ++stats_.store_errors;
    spdlog::warn("agent {}: noting the processes of {}: {}", cfg_.id, item.id, s.message());
  }
}

void Agent::report(const WorkItem& item, const RunResult& o) {
  std::string result;
  if (o.cancelled) {
    Status s = queue_.release(item, cfg_.id);
    if (s.ok()) {
      ++stats_.released;
      result = "released";
    } else if (s.code() == ErrorCode::kConflict) {
      ++stats_.lost_claims;
      result = "lost";
    } else {
      ++stats_.store_errors;
      result = "error";
    }
    if (!s.ok()) spdlog::warn("agent {}: release of {}: {}", cfg_.id, item.id, s.message());
  } else {
    auto f = queue_.finish(item, cfg_.id, o.completion);
    if (f.ok()) {
      result = to_string(*f);
      if (*f == FinishOutcome::kCompleted) ++stats_.completed;
      if (*f != FinishOutcome::kCompleted) ++stats_.failed;
      if (*f == FinishOutcome::kRetrying) ++stats_.retrying;
    } else if (f.status().code() == ErrorCode::kConflict) {
      ++stats_.lost_claims;
      result = "lost";
      spdlog::warn("agent {}: claim on {} was lost: {}", cfg_.id, item.id, f.status().message());
    } else {
      ++stats_.store_errors;
      result = "error";
      spdlog::warn("agent {}: finish of {}: {}", cfg_.id, item.id, f.status().message());
    }
  }
  spdlog::info("agent {}: {} {} ({} ms, exit {})", cfg_.id, item.id, result,
               o.completion.duration_ms, o.completion.exit_code);
  record(item, o, result);
}

void Agent::record(const WorkItem& item, const RunResult& o, const std::string& result) {
  ++sequence_;
  const nlohmann::json metrics = {{"agent", cfg_.id},
                                  {"item", item.id},
                                  {"duration_ms", o.completion.duration_ms},
                                  {"exit_code", o.completion.exit_code},
                                  {"success", o.completion.success && !o.cancelled},
                                  {"attempt", item.attempts + 1},
                                  {"result", result}};
  if (cfg_.spans != nullptr) export_span(item, o, result);
  Status s = queue_.record_telemetry(fmt::format("{}-{}", cfg_.id, sequence_), metrics);
  if (!s.ok()) {
    ++stats_.store_errors;
    spdlog::warn("agent {}: telemetry for {}: {}", cfg_.id, item.id, s.message());
  }
}

void Agent::export_span(const WorkItem& item, const RunResult& o, const std::string& result) {
  const auto end =
      std::chrono::duration_cast<std::chrono::nanoseconds>(clock_.now().time_since_epoch()).count();
  SpanData s;
  s.name = "swarmsh.agent.work_item";
  s.trace_id = new_trace_id();
  s.span_id = new_span_id();
  s.end_unix_nano = end;
  s.start_unix_nano = end - o.completion.duration_ms * 1'000'000;
  s.attributes = {{"agent_id", cfg_.id},
                  {"work_id", item.id},
                  {"attempt", item.attempts + 1},
                  {"exit_code", std::int64_t{o.completion.exit_code}},
                  {"duration_ms", o.completion.duration_ms},
                  {"result", result}};
  s.error = !(o.completion.success && !o.cancelled);
  if (s.error) s.status_message = o.completion.error;
  cfg_.spans->export_spans({std::move(s)});
}

void Agent::wait_idle(const std::stop_token& stop) {
  if (last_status_ != "idle") heartbeat("idle");
  // The queue wakes us early when it can tell that work arrived (etcd watches for it).
  const auto poll_end = SteadyClock::now() + cfg_.poll_interval;
  while (!stop.stop_requested() && SteadyClock::now() < poll_end) {
    const auto until = std::min(poll_end, next_heartbeat_);
    const auto wait =
        std::chrono::duration_cast<std::chrono::milliseconds>(until - SteadyClock::now());
    if (wait.count() > 0) queue_.wait_for_work(wait, stop);
    if (!stop.stop_requested()) heartbeat_if_due("idle", {});
    if (SteadyClock::now() < until) break;  // woken early: work may be there
  }
}

void Agent::heartbeat_if_due(const std::string& status, const std::string& current_work) {
  if (SteadyClock::now() >= next_heartbeat_) heartbeat(status, current_work);
}

void Agent::heartbeat(const std::string& status, const std::string& current_work) {
  AgentState state;
  state.id = cfg_.id;
  state.status = status;
  state.pid = static_cast<std::int64_t>(::getpid());
  state.host = cfg_.host;
  state.current_work = current_work;
  state.created = created_;
  next_heartbeat_ = SteadyClock::now() + cfg_.heartbeat_interval;
  last_status_ = status;
  last_work_ = current_work;
  if (Status s = queue_.heartbeat(state); !s.ok()) {
    // The coordination directory itself is gone: nobody can see this agent any more.
    if (s.code() == ErrorCode::kNotFound) store_gone_ = true;
    ++stats_.store_errors;
    spdlog::warn("agent {}: heartbeat failed: {}", cfg_.id, s.message());
  }
}

}  // namespace dslmodel::agent

// `dsl auto loop`: one cycle per interval until SIGINT/SIGTERM or --max-cycles.
//
// SIGINT and SIGTERM are blocked in every thread and taken by one watcher thread, which requests
// stop; the loop waits on a condition variable, so a signal ends the wait at once and the cycle
// in progress always finishes.
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <ostream>
#include <stop_token>
#include <thread>

#include "app/commands.h"
#include "app/observability.h"
#include "app/settings.h"
#include "app/signals.h"
#include "core/json_text.h"
#include "dslmodel/engine.h"
#include "dslmodel/factory.h"

namespace dslmodel::app {
namespace {

nlohmann::json cycle_json(std::int64_t n, const CycleResult& c) {
  return {{"cycle", n},
          {"metrics", metrics_json(c.metrics)},
          {"decisions", decisions_json(c.decisions)},
          {"execution", execution_json(c.execution)},
          {"duration_ms", c.duration_ms}};
}

}  // namespace

namespace {

// The endpoint, or nullptr when off or (for the default address only) when it cannot be bound.
Result<std::unique_ptr<telemetry::MetricsServer>> start_endpoint(const Context& ctx,
                                                                 const LoopArgs& args,
                                                                 LoopObserver& observer) {
  if (args.metrics_addr == "off") return std::unique_ptr<telemetry::MetricsServer>();
  auto server = observer.serve(args.metrics_addr, ctx.config);
  if (server.ok()) {
    *ctx.err << "metrics: http://" << args.metrics_addr.substr(0, args.metrics_addr.rfind(':'))
             << ":" << (*server)->port() << "/metrics\n";
    return server;
  }
  if (args.metrics_addr_given || server.status().code() == ErrorCode::kInvalidArgument) {
    return server.status();
  }
  *ctx.err << "dsl: warning: metrics endpoint not started: " << server.status().message() << "\n";
  return std::unique_ptr<telemetry::MetricsServer>();
}

// Applies the persisted remediation switch to this cycle.
ExecuteOptions with_remediation(const Context& ctx, AutonomousDecisionEngine& engine,
                                ExecuteOptions options) {
  auto setting = load_remediation(ctx.config);
  if (!setting.ok()) {
    *ctx.err << "dsl: warning: " << setting.status().message() << "\n";
    return options;
  }
  const bool configured_dry = options.dry_run.value_or(ctx.config.gate.dry_run);
  const RemediationEffect effect = remediation_effect(*setting, configured_dry);
  engine.set_remediation_enabled(effect.remediation_enabled);
  options.dry_run = effect.dry_run;
  return options;
}

// Says on stderr when this replica becomes leader or follower, once per change.
// Thread-safe: called from the loop and from the elector's thread.
class LeadershipReporter {
 public:
  explicit LeadershipReporter(std::ostream& err) : err_(err) {}

  void watch(const LeaderElector* elector) { elector_ = elector; }

  void report() {
    std::lock_guard lock(mu_);
    if (elector_ == nullptr) return;
    const Leadership l = elector_->current();
    if (known_ && l.is_leader == was_leader_ && l.epoch == epoch_) return;
    known_ = true;
    was_leader_ = l.is_leader;
    epoch_ = l.epoch;
    if (l.is_leader) {
      err_ << "leader: " << elector_->id() << " leads (epoch " << l.epoch << ")" << std::endl;
    } else {
      err_ << "follower: " << elector_->id() << " observes only"
           << (l.detail.empty() ? "" : " (" + l.detail + ")") << "\n";
    }
  }

 private:
  std::mutex mu_;
  std::ostream& err_;
  const LeaderElector* elector_ = nullptr;
  bool known_ = false;
  bool was_leader_ = false;
  std::int64_t epoch_ = 0;
};

// One cycle's result: a JSON envelope per line, or the one-line text report.
void print_cycle(const Context& ctx, std::int64_t cycle, const CycleResult& result) {
  if (ctx.json) {
    *ctx.out << dump_json(envelope("auto-loop", true, cycle_json(cycle, result), {},
                                   warnings_of(result.warnings, result.file_warnings),
                                   std::chrono::system_clock::now()))
             << std::endl;
  } else {
    *ctx.out << render_cycle_line(cycle, result, ctx.style) << std::flush;
  }
}

// The text report once the loop stopped.
void print_summary(const Context& ctx, const AutonomousDecisionEngine& engine, std::int64_t cycles,
                   std::int64_t executed, std::int64_t failed) {
  *ctx.out << "loop stopped after " << cycles << " cycle(s): " << executed << " executed, "
           << failed << " failed";
  if (engine.has_exporter()) {
    const ExporterStats s = engine.exporter_stats();
    *ctx.out << "; " << s.exported << " spans exported, " << s.dropped << " spans dropped";
  }
  *ctx.out << "\n";
}

// The HTTP endpoint did not start: a bad address is a usage error, anything else a failure.
int endpoint_failure(const Context& ctx, const Status& s) {
  const int code = s.code() == ErrorCode::kInvalidArgument ? kExitUsage : kExitFailure;
  return fail(ctx, "auto-loop", code, s.message());
}

}  // namespace

int run_loop(const Context& ctx, const LoopArgs& args) {
  SignalBlock block;
  std::stop_source stop;
  std::mutex mu;
  std::condition_variable_any cv;
  std::jthread watcher([&](const std::stop_token& self) {
    watch_signals(self, block.set(), stop, *ctx.err, "finishing the current cycle", &cv);
  });

  auto exporter = make_span_exporter(args.spans_file, process_env());
  if (!exporter.ok()) return fail(ctx, "auto-loop", kExitUsage, exporter.status().message());
  const Config config = engine_config(ctx, EngineMode::kLoop);
  auto made = make_engine_parts(config);
  if (!made.ok()) return fail(ctx, "auto-loop", kExitUsage, made.status().message());
  EngineParts parts = std::move(made).value();
  parts.exporter = std::move(exporter).value();
  // Leadership changes wake the loop, so a new leader acts at once rather than an interval later.
  std::atomic<bool> leadership_changed = false;
  LeadershipReporter reporter(*ctx.err);
  if (parts.elector) {
    reporter.watch(parts.elector.get());
    parts.elector->on_change([&] {
      reporter.report();
      leadership_changed = true;
      cv.notify_all();
    });
    reporter.report();
  }
  AutonomousDecisionEngine engine(config, std::move(parts));
  const auto interval = std::chrono::duration<double>(args.interval_s);
  LoopObserver observer(ctx.config, interval);
  auto server = start_endpoint(ctx, args, observer);
  if (!server.ok()) return endpoint_failure(ctx, server.status());
  const ExecuteOptions options = to_execute_options(args.execute);
  std::int64_t cycle = 0, executed = 0, failed = 0;
  while (!stop.stop_requested()) {
    ++cycle;
    reporter.report();
    auto result = engine.run_cycle(with_remediation(ctx, engine, options));
    if (!result.ok()) {
      if (cycle == 1) return fail(ctx, "auto-loop", kExitFailure, result.status().message());
      *ctx.err << "dsl: cycle " << cycle << " failed: " << result.status().message() << "\n";
    } else {
      observer.record(engine, *result);
      executed += static_cast<std::int64_t>(result->execution.executed.size());
      failed += static_cast<std::int64_t>(result->execution.failed.size());
      print_cycle(ctx, cycle, *result);
    }
    if (args.max_cycles > 0 && cycle >= args.max_cycles) break;
    std::unique_lock lock(mu);
    cv.wait_for(lock, stop.get_token(), interval, [&] {
      return leadership_changed.exchange(false) && engine.leadership().is_leader;
    });
  }
  if (engine.elector() != nullptr) engine.elector()->resign();  // a successor need not wait
  engine.flush_spans(std::chrono::seconds(3));
  if (!ctx.json) print_summary(ctx, engine, cycle, executed, failed);
  return kExitOk;
}

}  // namespace dslmodel::app

// The dsl commands: each takes parsed arguments, runs, prints, and returns an exit code
// (0 done, 1 could not do it, 2 bad usage or configuration). Not thread-safe.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>

#include "app/output.h"
#include "dslmodel/config.h"

namespace dslmodel::app {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

struct Context {
  Config config;
  bool json = false;     // print one envelope
  bool verbose = false;  // explain each decision
  Style style;
  std::ostream* out = nullptr;
  std::ostream* err = nullptr;
};

struct AnalyzeArgs {
  std::string format = "table";  // table | json
};

struct ExecuteArgs {
  int max = 3;
  std::optional<double> min_confidence;
  std::optional<double> force_confidence;
  bool dry_run = false;
  std::string format = "table";
};

struct LoopArgs {
  double interval_s = 30;
  std::int64_t max_cycles = 0;  // 0: until SIGINT/SIGTERM
  ExecuteArgs execute;
  std::string metrics_addr = "127.0.0.1:8080";  // "off": no endpoint
  bool metrics_addr_given = false;  // an explicit address that cannot be bound is an error
  std::string spans_file;           // OTLP JSON, one export per line
  bool leader_election = false;     // --leader-election (else config / environment)
  int lease_ttl_s = 0;              // --lease-ttl; 0: the configured one
};

struct HistoryArgs {
  std::size_t limit = 50;
  bool all = false;  // also the intent records written before each action
};

int run_status(const Context& ctx);
int run_analyze(const Context& ctx, const AnalyzeArgs& args);
int run_execute(const Context& ctx, const ExecuteArgs& args);
int run_loop(const Context& ctx, const LoopArgs& args);
int run_history(const Context& ctx, const HistoryArgs& args);
int run_rollback(const Context& ctx, const std::string& decision_id);

// Prints an error the way the context asks (envelope or "dsl: message" on stderr).
int fail(const Context& ctx, const std::string& command, int code, const std::string& message);

enum class EngineMode {
  kObserve,  // status, analyze, history: never acts, starts nothing
  kAct,      // execute, rollback: acts once and exits
  kLoop,     // auto loop: acts every cycle and watches its agents
};

// The engine's configuration for a command: fills the agent command (this binary's
// `agent run`), makes the process supervisor the default actuator of the loop, and keeps
// one-shot commands from replacing dead agents (they would not be there to watch them); the loop
// alone keeps its directory's snapshot from change notifications (store.watch).
Config engine_config(const Context& ctx, EngineMode mode);

// The `auto status` envelope for the engine's last analysis (also served on /status).
nlohmann::json status_envelope(const AutonomousDecisionEngine& engine, const SystemMetrics& m);

// The options every execute-like command turns into.
ExecuteOptions to_execute_options(const ExecuteArgs& args);

}  // namespace dslmodel::app

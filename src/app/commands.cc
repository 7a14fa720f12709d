#include "app/commands.h"

#include <algorithm>
#include <filesystem>
#include <ostream>
#include <set>

#include "app/settings.h"
#include "core/json_text.h"
#include "dslmodel/engine.h"
#include "dslmodel/factory.h"
#include "factory/backends.h"
#include "journal/history.h"

namespace dslmodel::app {
namespace {

int exit_code_for(const Status& s) {
  return s.code() == ErrorCode::kInvalidArgument ? kExitUsage : kExitFailure;
}

void print_json(const Context& ctx, const nlohmann::json& j) {
  *ctx.out << dump_json(j, 2) << "\n";
}

std::vector<JournalEntry> recent_entries(const AutonomousDecisionEngine& engine, std::size_t n) {
  std::vector<JournalEntry> recent = engine.journal_summary().recent;
  if (recent.size() > n) recent.resize(n);
  return recent;
}

// The newest `limit` records history shows, oldest first, read page by page from the newest:
// every record but the intents of decisions that have an outcome (unless `all`).
Result<std::vector<JournalEntry>> history_entries(const AutonomousDecisionEngine& engine,
                                                  const HistoryArgs& args) {
  std::set<std::string> open;
  for (const JournalEntry& e : engine.journal_summary().open_intents) open.insert(e.decision.id);
  const std::size_t page_size = std::max<std::size_t>(args.limit, 64);
  std::vector<JournalEntry> picked;
  std::int64_t before = 0;
  while (picked.size() < args.limit) {
    auto page = engine.history(page_size, before);
    if (!page.ok()) return page.status();
    const std::int64_t oldest = page->empty() ? 0 : page->back().seq;
    for (JournalEntry& e : *page) {
      const bool settled_intent = e.outcome == Outcome::kIntent && !open.contains(e.decision.id);
      if ((args.all || !settled_intent) && picked.size() < args.limit) {
        picked.push_back(std::move(e));
      }
    }
    if (page->size() < page_size) break;
    before = oldest;
  }
  std::reverse(picked.begin(), picked.end());
  return picked;
}

// The engine a command runs on, from dslmodel/factory.h.
Result<std::unique_ptr<AutonomousDecisionEngine>> command_engine(const Context& ctx,
                                                                 EngineMode mode) {
  return make_engine(engine_config(ctx, mode));
}

}  // namespace

Config engine_config(const Context& ctx, EngineMode mode) {
  Config c = ctx.config;
  ActuatorConfig& a = c.actuator;
  // The loop scales on its own: this host's process supervisor for a directory, the agent pools
  // of every host (`dsl agent pool`) for etcd.
  if (mode == EngineMode::kLoop && a.kind == ActuatorKind::kAuto && a.scale_command.empty()) {
    a.kind = uses_etcd(c) ? ActuatorKind::kPool : ActuatorKind::kProcess;
  }
  if (mode != EngineMode::kLoop) a.replace_dead_agents = false;  // nobody would watch them
  // The loop reads its directory every cycle: it keeps the snapshot from change notifications.
  // One-shot commands read it once and set up no watch.
  c.store.watch = mode == EngineMode::kLoop;
  a.observe_only = mode == EngineMode::kObserve;
  if (a.agent_command.empty()) {
    std::error_code ec;
    const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
    const std::string exe = ec ? std::string("dsl") : self.string();
    if (uses_etcd(c)) {
      a.agent_command = {exe, "--store", c.store.url, "agent", "run", "--id", "{agent_id}"};
    } else {
      a.agent_command = {exe, "agent", "run", "-c", "{coordination_dir}", "--id", "{agent_id}"};
    }
  }
  return c;
}

int fail(const Context& ctx, const std::string& command, int code, const std::string& message) {
  if (ctx.json) {
    print_json(ctx, envelope(command, false, nlohmann::json::object(), {message}, {},
                             std::chrono::system_clock::now()));
  }
  *ctx.err << "dsl: " << message << "\n";
  return code;
}

ExecuteOptions to_execute_options(const ExecuteArgs& args) {
  ExecuteOptions o;
  o.max_decisions = args.max;
  o.min_confidence = args.min_confidence;
  o.force_confidence = args.force_confidence;
  if (args.dry_run) o.dry_run = true;
  return o;
}

nlohmann::json status_data(const Config& config, const SystemMetrics& m,
                           const std::vector<JournalEntry>& recent) {
  nlohmann::json status = metrics_json(m);
  status["dry_run"] = config.gate.dry_run;
  nlohmann::json recent_json = nlohmann::json::array();
  for (const auto& e : recent) recent_json.push_back(journal_entry_json(e));
  auto remediation = load_remediation(config);
  // With etcd, the state lives under the store URL; the directory keeps only local settings.
  const std::string& where = uses_etcd(config) ? config.store.url : config.coordination_dir;
  return {{"coordination_dir", where},
          {"status", status},
          {"health_state", to_string(m.health_state)},
          {"recent_decisions", recent_json},
          {"remediation", remediation.ok()
                              ? remediation_json(*remediation)
                              : nlohmann::json{{"error", remediation.status().message()}}}};
}

nlohmann::json status_envelope(const AutonomousDecisionEngine& engine, const SystemMetrics& m) {
  nlohmann::json data = status_data(engine.config(), m, recent_entries(engine, 10));
  if (const LeaderElector* e = engine.elector(); e != nullptr) {  // a loop replica
    const Leadership l = e->current();
    data["leader"] = {{"replica", e->id()},
                      {"is_leader", l.is_leader},
                      {"epoch", l.epoch},
                      {"holder", l.holder},
                      {"detail", l.detail}};
  }
  return envelope("auto-status", true, data, {}, warnings_of(engine.last_snapshot()),
                  std::chrono::system_clock::now());
}

int run_status(const Context& ctx) {
  auto made = command_engine(ctx, EngineMode::kObserve);
  if (!made.ok()) return fail(ctx, "auto-status", kExitUsage, made.status().message());
  AutonomousDecisionEngine& engine = **made;
  auto m = engine.analyze_system_state();
  if (!m.ok()) return fail(ctx, "auto-status", exit_code_for(m.status()), m.status().message());
  const auto warnings = warnings_of(engine.last_snapshot());
  const auto recent = recent_entries(engine, 10);
  if (ctx.json) {
    print_json(ctx, status_envelope(engine, *m));
  } else {
    *ctx.out << render_status(engine.store().describe(), *m, recent, warnings, ctx.style);
  }
  return kExitOk;
}

int run_analyze(const Context& ctx, const AnalyzeArgs& args) {
  auto made = command_engine(ctx, EngineMode::kObserve);
  if (!made.ok()) return fail(ctx, "auto-analyze", kExitUsage, made.status().message());
  AutonomousDecisionEngine& engine = **made;
  auto m = engine.analyze_system_state();
  if (!m.ok()) return fail(ctx, "auto-analyze", exit_code_for(m.status()), m.status().message());
  const auto decisions = engine.make_autonomous_decisions(*m);
  const auto warnings = warnings_of(engine.last_snapshot());
  nlohmann::json data = {{"metrics", metrics_json(*m)}, {"decisions", decisions_json(decisions)}};
  if (!engine.dropped_decisions().empty()) {
    data["dropped"] = dropped_json(engine.dropped_decisions());
  }
  if (ctx.json) {
    print_json(
        ctx, envelope("auto-analyze", true, data, {}, warnings, std::chrono::system_clock::now()));
  } else if (args.format == "json") {
    print_json(ctx, data);
  } else {
    *ctx.out << render_status(engine.store().describe(), *m, {}, warnings, ctx.style);
    const auto verdicts = engine.preview_gate(decisions);
    *ctx.out << render_decisions(decisions, ctx.verbose, ctx.style, &verdicts,
                                 evidence_factor(engine.last_snapshot()));
    *ctx.out << render_dropped(engine.dropped_decisions(), ctx.style);
  }
  return kExitOk;
}

int run_execute(const Context& ctx, const ExecuteArgs& args) {
  auto made = command_engine(ctx, EngineMode::kAct);
  if (!made.ok()) return fail(ctx, "auto-execute", kExitUsage, made.status().message());
  AutonomousDecisionEngine& engine = **made;
  auto cycle = engine.run_cycle(to_execute_options(args));
  if (!cycle.ok()) {
    return fail(ctx, "auto-execute", exit_code_for(cycle.status()), cycle.status().message());
  }
  const bool failed = !cycle->execution.failed.empty();
  nlohmann::json data = execution_json(cycle->execution);
  if (ctx.json) {
    std::vector<std::string> errors;
    for (const auto& f : cycle->execution.failed) errors.push_back(f.decision_id + ": " + f.error);
    print_json(ctx, envelope("auto-execute", !failed, data, errors,
                             warnings_of(cycle->warnings, cycle->file_warnings),
                             std::chrono::system_clock::now()));
  } else if (args.format == "json") {
    print_json(ctx, data);
  } else {
    *ctx.out << render_execution(cycle->decisions, cycle->execution, ctx.verbose, ctx.style);
  }
  return failed ? kExitFailure : kExitOk;
}

int run_history(const Context& ctx, const HistoryArgs& args) {
  auto made = command_engine(ctx, EngineMode::kObserve);
  if (!made.ok()) return fail(ctx, "auto-history", kExitUsage, made.status().message());
  AutonomousDecisionEngine& engine = **made;
  auto entries = history_entries(engine, args);
  if (!entries.ok()) return fail(ctx, "auto-history", kExitFailure, entries.status().message());
  if (ctx.json) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& e : *entries) list.push_back(journal_entry_json(e));
    print_json(ctx, envelope("auto-history", true, {{"entries", list}}, {}, {},
                             std::chrono::system_clock::now()));
  } else {
    *ctx.out << render_history(*entries, ctx.style);
  }
  return kExitOk;
}

int run_rollback(const Context& ctx, const std::string& decision_id) {
  auto made = command_engine(ctx, EngineMode::kAct);
  if (!made.ok()) return fail(ctx, "auto-rollback", kExitUsage, made.status().message());
  AutonomousDecisionEngine& engine = **made;
  auto r = engine.rollback(decision_id);
  if (!r.ok()) {
    const int code = r.status().code() == ErrorCode::kNotFound ? kExitUsage : kExitFailure;
    return fail(ctx, "auto-rollback", code, r.status().message());
  }
  if (ctx.json) {
    print_json(ctx, envelope("auto-rollback", true, {{"decision_id", decision_id}, {"result", *r}},
                             {}, {}, std::chrono::system_clock::now()));
  } else {
    *ctx.out << "rolled back " << decision_id << ": " << *r << "\n";
  }
  return kExitOk;
}

}  // namespace dslmodel::app

#include "app/output.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/json_text.h"
#include "dslmodel/time.h"

namespace dslmodel::app {
namespace {

std::string paint(bool on, std::string_view code, std::string_view s) {
  if (!on) return std::string(s);
  return fmt::format("\x1b[{}m{}\x1b[0m", code, s);
}

std::string pct(double x) { return fmt::format("{:.1f}%", x * 100.0); }

std::string pad(std::string_view s, std::size_t width) {
  std::string out(s);
  if (out.size() < width) out.append(width - out.size(), ' ');
  return out;
}

}  // namespace

std::string Style::bold(std::string_view s) const { return paint(color, "1", s); }
std::string Style::dim(std::string_view s) const { return paint(color, "2", s); }
std::string Style::good(std::string_view s) const { return paint(color, "32", s); }
std::string Style::bad(std::string_view s) const { return paint(color, "31", s); }
std::string Style::health(std::string_view s, HealthState state) const {
  switch (state) {
    case HealthState::kCritical:
      return paint(color, "1;31", s);
    case HealthState::kDegraded:
      return paint(color, "33", s);
    case HealthState::kHealthy:
      return paint(color, "32", s);
    case HealthState::kOptimal:
      return paint(color, "1;32", s);
  }
  return std::string(s);
}

nlohmann::json metrics_json(const SystemMetrics& m) {
  return {{"health_score", m.health_score},
          {"health_state", to_string(m.health_state)},
          {"active_agents", m.active_agents},
          {"work_queue_size", m.work_queue_size},
          {"completion_rate", m.completion_rate},
          {"telemetry_volume", m.telemetry_volume},
          {"pending", m.pending},
          {"in_progress", m.in_progress},
          {"total_agents", m.total_agents},
          {"succeeded", m.succeeded},
          {"failed", m.failed},
          {"rejected_files", m.rejected_files},
          {"files_read", m.files_read}};
}

std::vector<std::string> warnings_of(const std::vector<RejectedFile>& rejected,
                                     const std::vector<FileWarning>& kept) {
  std::vector<std::string> out;
  out.reserve(rejected.size() + kept.size());
  for (const auto& r : rejected) out.push_back(r.name + ": " + r.reason);
  for (const auto& w : kept) out.push_back(w.name + ": " + w.message);
  return out;
}

std::vector<std::string> warnings_of(const Snapshot& snap) {
  return warnings_of(snap.rejected, snap.warnings);
}

nlohmann::json envelope(const std::string& command, bool success, nlohmann::json data,
                        const std::vector<std::string>& errors,
                        const std::vector<std::string>& warnings, TimePoint now) {
  return {{"command", command},      {"success", success}, {"timestamp", format_iso8601(now)},
          {"data", std::move(data)}, {"errors", errors},   {"warnings", warnings}};
}

nlohmann::json decisions_json(const std::vector<Decision>& ds) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& d : ds) out.push_back(to_json(d));
  return out;
}

nlohmann::json dropped_json(const std::vector<DroppedDecision>& ds) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& d : ds) {
    out.push_back({{"type", d.decision.type},
                   {"reason", d.decision.reason},
                   {"priority", d.decision.priority},
                   {"why", d.why}});
  }
  return out;
}

std::string render_dropped(const std::vector<DroppedDecision>& ds, const Style& st) {
  std::string out;
  for (const auto& d : ds) {
    out += st.dim(fmt::format("Dropped: {} ({}): {}", d.decision.type, d.decision.reason, d.why)) +
           "\n";
  }
  return out;
}

nlohmann::json execution_json(const ExecutionReport& r) {
  nlohmann::json out = {{"executed", nlohmann::json::array()},
                        {"failed", nlohmann::json::array()},
                        {"skipped", nlohmann::json::array()}};
  for (const auto& e : r.executed) {
    out["executed"].push_back({{"decision_id", e.decision_id},
                               {"type", e.type},
                               {"result", e.result},
                               {"duration_ms", e.duration_ms}});
  }
  for (const auto& f : r.failed) {
    out["failed"].push_back({{"decision_id", f.decision_id},
                             {"type", f.type},
                             {"error", f.error},
                             {"duration_ms", f.duration_ms}});
  }
  for (const auto& s : r.skipped) {
    out["skipped"].push_back(
        {{"decision_id", s.decision_id}, {"type", s.type}, {"reason", s.reason}});
  }
  return out;
}

nlohmann::json journal_entry_json(const JournalEntry& e) {
  nlohmann::json j = {{"seq", e.seq},
                      {"at", format_iso8601(e.at)},
                      {"decision_id", e.decision.id},
                      {"type", e.decision.type},
                      {"outcome", to_string(e.outcome)},
                      {"confidence", e.decision.confidence},
                      {"rationale", e.decision.rationale},
                      {"duration_ms", e.duration_ms},
                      {"epoch", e.epoch}};
  if (!e.reason.empty()) j["reason"] = e.reason;
  if (!e.result.empty()) j["result"] = e.result;
  if (!e.replica.empty()) j["replica"] = e.replica;
  if (e.repeats > 0) j["repeats"] = e.repeats;
  if (e.last_at) j["last_at"] = format_iso8601(*e.last_at);
  return j;
}

std::string render_status(const std::string& dir, const SystemMetrics& m,
                          const std::vector<JournalEntry>& recent,
                          const std::vector<std::string>& warnings, const Style& st) {
  std::string state(to_string(m.health_state));
  for (char& c : state) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  std::string out = st.bold("Autonomous system status") + "  " + st.dim(dir) + "\n";
  out += fmt::format("  {}  {:.3f}  {}\n", pad("Health", 11), m.health_score,
                     st.health(state, m.health_state));
  out += fmt::format("  {}  {} active of {}\n", pad("Agents", 11), m.active_agents, m.total_agents);
  out += fmt::format("  {}  {} ({} pending, {} in progress)\n", pad("Work queue", 11),
                     m.work_queue_size, m.pending, m.in_progress);
  out += fmt::format("  {}  {} ({} succeeded, {} failed)\n", pad("Completion", 11),
                     pct(m.completion_rate), m.succeeded, m.failed);
  out += fmt::format("  {}  {} records\n", pad("Telemetry", 11), m.telemetry_volume);
  if (!warnings.empty()) {
    const auto rejected = static_cast<std::size_t>(std::max<std::int64_t>(0, m.rejected_files));
    std::string summary = fmt::format("{} file(s) rejected", rejected);
    if (warnings.size() > rejected) {
      summary += fmt::format(", {} counted with a warning", warnings.size() - rejected);
    }
    out += fmt::format("  {}  {}\n", pad("Warnings", 11), summary);
    for (const auto& w : warnings) out += "    " + st.bad(w) + "\n";
  }
  if (!recent.empty()) {
    out += st.bold("Recent decisions") + "\n";
    for (const auto& e : recent) {
      out +=
          fmt::format("  {}  {}  {}  {}\n", st.dim(format_iso8601(e.at)), pad(e.decision.type, 20),
                      pad(to_string(e.outcome), 12), e.result.empty() ? e.reason : e.result);
    }
  }
  return out;
}

std::string render_decisions(const std::vector<Decision>& ds, bool verbose, const Style& st,
                             const std::vector<GateVerdict>* verdicts, double evidence) {
  if (ds.empty()) return "No decisions: nothing to do.\n";
  std::string out = st.bold(fmt::format("{}  {}  {}  {}  {}", pad("PRI", 3), pad("TYPE", 20),
                                        pad("CONF", 4), pad("REASON", 18), "RATIONALE")) +
                    "\n";
  for (std::size_t i = 0; i < ds.size(); ++i) {
    const Decision& d = ds[i];
    out += fmt::format("{}  {}  {:.2f}  {}  {}\n", pad(std::to_string(d.priority), 3),
                       pad(d.type, 20), d.confidence, pad(d.reason, 18), d.rationale);
    if (!verbose) continue;
    out += st.dim(fmt::format("     id {}  inputs {}", d.id, dump_json(parameters_json(d)))) + "\n";
    out += st.dim(fmt::format("     rule {}: confidence {:.2f} (evidence factor {:.2f})", d.reason,
                              d.confidence, evidence)) +
           "\n";
    if (verdicts != nullptr && i < verdicts->size()) {
      const GateVerdict& v = (*verdicts)[i];
      out += st.dim(v.run ? std::string("     gate: would run")
                          : "     gate: would be skipped (" + to_string(v.reason) + ")") +
             "\n";
    }
  }
  return out;
}

std::string render_execution(const std::vector<Decision>& ds, const ExecutionReport& r,
                             bool verbose, const Style& st) {
  std::string out = render_decisions(ds, verbose, st);
  for (const auto& e : r.executed) {
    out += fmt::format("{} {} {}: {} ({} ms)\n", st.good("executed"), e.type, e.decision_id,
                       e.result, e.duration_ms);
  }
  for (const auto& f : r.failed) {
    out += fmt::format("{}   {} {}: {}\n", st.bad("failed"), f.type, f.decision_id, f.error);
  }
  for (const auto& s : r.skipped) {
    out += fmt::format("{}  {} {}: {}\n", st.dim("skipped"), s.type, s.decision_id, s.reason);
  }
  out += fmt::format("{} executed, {} failed, {} skipped\n", r.executed.size(), r.failed.size(),
                     r.skipped.size());
  return out;
}

std::string render_history(const std::vector<JournalEntry>& entries, const Style& st) {
  if (entries.empty()) return "No decisions journaled yet.\n";
  std::string out = st.bold(fmt::format("{}  {}  {}  {}  {}", pad("AT", 24), pad("DECISION", 24),
                                        pad("TYPE", 20), pad("OUTCOME", 15), "DETAIL")) +
                    "\n";
  for (const auto& e : entries) {
    out += fmt::format("{}  {}  {}  {}  {}\n", pad(format_iso8601(e.at), 24),
                       pad(e.decision.id, 24), pad(e.decision.type, 20),
                       pad(to_string(e.outcome), 15), e.result.empty() ? e.reason : e.result);
  }
  return out;
}

std::string render_cycle_line(std::int64_t cycle, const CycleResult& c, const Style& st) {
  const SystemMetrics& m = c.metrics;
  std::string line =
      fmt::format("cycle {}  health {:.3f} {}  agents {}  queue {}  {} ms", cycle, m.health_score,
                  st.health(to_string(m.health_state), m.health_state), m.active_agents,
                  m.work_queue_size, c.duration_ms);
  for (const auto& e : c.execution.executed) line += "  " + st.good(e.type) + ": " + e.result;
  for (const auto& f : c.execution.failed)
    line += "  " + st.bad(f.type + " failed") + ": " + f.error;
  for (const auto& s : c.execution.skipped)
    line += "  " + st.dim(s.type + " skipped (" + s.reason + ")");
  return line + "\n";
}

}  // namespace dslmodel::app

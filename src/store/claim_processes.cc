// processes_json / processes_of, and requeue_wait over platform/processes.h.
#include "store/claim_processes.h"

#include <sys/types.h>

#include <cstdint>

#include "dslmodel/policy.h"
#include "platform/processes.h"

namespace dslmodel::store::detail {
namespace {

using ojson = nlohmann::ordered_json;

std::optional<std::int64_t> positive(const ojson& o, const char* key) {
  auto it = o.find(key);
  if (it == o.end() || !it->is_number_integer()) return std::nullopt;
  const auto v = it->get<std::int64_t>();
  if (v <= 0 || v > INT32_MAX) return std::nullopt;  // pid_t range
  return v;
}

std::uint64_t start_of(const ojson& o, const char* key) {
  auto it = o.find(key);
  return it != o.end() && it->is_number_unsigned() ? it->get<std::uint64_t>() : 0;
}

}  // namespace

ojson processes_json(const ClaimProcesses& p) {
  return {{"host", p.host},           {"pid_space", p.pid_space}, {"pid", p.pid},
          {"pid_start", p.pid_start}, {"pgid", p.pgid},           {"pgid_start", p.pgid_start}};
}

std::optional<ClaimProcesses> processes_of(const ojson& doc) {
  auto it = doc.find("processes");
  if (it == doc.end() || !it->is_object()) return std::nullopt;
  const ojson& o = *it;
  auto space = o.find("pid_space");
  if (space == o.end() || !space->is_string() || space->get_ref<const std::string&>().empty()) {
    return std::nullopt;
  }
  std::optional<std::int64_t> pid = positive(o, "pid");
  std::optional<std::int64_t> pgid = positive(o, "pgid");
  if (!pid || !pgid) return std::nullopt;
  ClaimProcesses p;
  p.pid_space = space->get<std::string>();
  auto host = o.find("host");
  if (host != o.end() && host->is_string()) p.host = host->get<std::string>();
  p.pid = *pid;
  p.pid_start = start_of(o, "pid_start");
  p.pgid = *pgid;
  p.pgid_start = start_of(o, "pgid_start");
  return p;
}

std::optional<std::string> requeue_wait(const ojson& doc) {
  const std::optional<ClaimProcesses> p = processes_of(doc);
  ClaimProcessFacts facts;
  if (p && !platform::pid_space().empty() && p->pid_space == platform::pid_space()) {
    facts.same_pid_space = true;
    facts.agent_running = platform::process_running(static_cast<pid_t>(p->pid), p->pid_start);
    facts.group_running =
        platform::process_group_running(static_cast<pid_t>(p->pgid), p->pgid_start);
  }
  return requeue_wait_reason(p, facts);
}

}  // namespace dslmodel::store::detail

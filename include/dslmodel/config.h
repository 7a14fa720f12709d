// Settings of the engine, with their defaults (docs/metrics.md, docs/policy.md,
// docs/configuration.md).
//
// Loaded by the application from, in rising precedence: defaults, a TOML config file, the
// DSLMODEL_AUTO_* environment variables, command-line flags. Plain values.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dslmodel/metrics.h"

namespace dslmodel {

using Seconds = std::chrono::seconds;
using Millis = std::chrono::milliseconds;

// How scale decisions are sized (docs/policy.md).
//   kCapacity (default): the capacity model sizes every scale decision, in every health state,
//     and the seed's step rules still fire (the larger target wins); scale-ups are rate-limited
//     per scale_up_period, scale-downs follow the largest recommendation over scale_down_window.
//   kSteps: the seed's step rules alone, with `cooldown` after every scaling.
enum class Sizing { kCapacity, kSteps };

struct PolicyConfig {
  Sizing sizing = Sizing::kCapacity;
  int min_agents = 1;             // never scale below
  int max_agents = 10;            // never scale above
  double scale_factor = 1.0;      // multiplies every scale-up step
  int critical_scale_step = 3;    // agents added when critical with work waiting
  int degraded_scale_step = 1;    // agents added when degraded with more work than agents
  int repair_batch = 10;          // items one coordination_improve repairs at most
  Seconds agent_timeout{60};      // an agent whose heartbeat is older is not active
  Seconds scale_down_delay{300};  // no scale-down this soon after a scale-up
  Seconds cooldown{60};           // no scaling this soon after any scaling actuation
  Seconds max_work_age{0};        // an item queued longer is given up (dead_<id>.json); 0: never
  Seconds retention{86400};       // completed/telemetry older are archived by optimize
  std::int64_t default_max_attempts = 3;  // for items without "max_attempts"
  int archive_min_files = 100;            // optimize archives only when this many are due

  // The capacity model (docs/policy.md, "Sizing from capacity").
  Seconds target_drain{10};           // drain the backlog within this long
  double target_utilization = 0.9;    // agents busy with arrivals at most this fraction
  Millis default_service_time{1000};  // per item, until completed records say otherwise
  Seconds arrival_window{60};         // arrival rate and trend over this sliding window
  bool arrival_trend = true;          // project a rising arrival rate over the start-up lag
  Seconds default_startup_lag{2};     // scale-up to first heartbeat, until the journal says
  Seconds scale_up_period{15};        // at most one scale-up per period
  Seconds scale_down_window{300};     // scale down only to the largest recommendation in it
};

struct GateConfig {
  double min_confidence = 0.6;       // decisions below are skipped ("low_confidence")
  int max_decisions = 3;             // per cycle (--max)
  int max_concurrent_decisions = 5;  // decisions in flight at once
  bool dry_run = false;              // decide and journal, but never act
};

// How scaling acts (ActuatorConfig::kind).
enum class ActuatorKind { kAuto, kCommand, kProcess, kPool, kNone };

// "auto", "command", "process", "pool", "none": the names of the config file and the journal.
constexpr std::string_view to_string(ActuatorKind kind) {
  switch (kind) {
    case ActuatorKind::kAuto:
      return "auto";
    case ActuatorKind::kCommand:
      return "command";
    case ActuatorKind::kProcess:
      return "process";
    case ActuatorKind::kPool:
      return "pool";
    case ActuatorKind::kNone:
      return "none";
  }
  return "auto";
}

// The kind a name names; nullopt for any other text.
constexpr std::optional<ActuatorKind> actuator_kind_from_string(std::string_view name) {
  for (ActuatorKind k : {ActuatorKind::kAuto, ActuatorKind::kCommand, ActuatorKind::kProcess,
                         ActuatorKind::kPool, ActuatorKind::kNone}) {
    if (to_string(k) == name) return k;
  }
  return std::nullopt;
}

//   kind "command": the command hook, argv run without a shell; placeholders in any argument:
//     {target_agents} {current_agents} {delta} {decision_id} {coordination_dir}.
//   kind "process": the process supervisor starts and stops agents on this host from
//     agent_command (placeholders {agent_id} {coordination_dir}).
//   kind "pool" (etcd store only): the leader writes the desired agent count into etcd and the
//     `dsl agent pool` of every host runs its share (agent_command then also takes
//     {store_url}).
//   kind "none": scale decisions are skipped with reason no_actuator.
//   kind "auto" (default): "command" when scale_command is set, else "none" for one-shot
//     commands and, for `dsl auto loop`, "process" on a directory and "pool" on etcd.
struct ActuatorConfig {
  ActuatorKind kind = ActuatorKind::kAuto;
  std::vector<std::string> scale_command;
  Seconds timeout{30};
  std::vector<std::string> agent_command;  // empty: this dsl binary's `agent run`
  Seconds agent_grace{15};  // SIGTERM, then SIGKILL after this (an agent takes up to 12 s)
  bool replace_dead_agents = true;
  // For commands that only look (status, analyze, history): the actuator is named, so the gate
  // says what would run, but nothing is started, adopted or watched.
  bool observe_only = false;
};

struct StoreConfig {
  std::size_t max_file_size = 1 << 20;  // larger records are rejected
  // Repairs remove the temp files of interrupted atomic writes (".work_7.json.tmp.<pid>.<hex>",
  // left by a kill -9) once they are older than this. A write takes milliseconds; this is the
  // claim lease an agent adds beyond an item's timeout.
  Seconds stale_temp_age{60};
  // Where the coordination state lives: empty for the coordination directory, or
  // "etcd://host:port[,host:port...]/prefix" for etcd (DSLMODEL_STORE, --store).
  std::string url;
  // Directory only, for long-running use (`dsl auto loop` sets it): keep the snapshot up to date
  // from change notifications, reading again only the files that changed since the last one
  // (docs/performance.md, "Incremental snapshots"). One-shot commands leave it off.
  bool watch = false;
  // With `watch`, everything is read again at least this often all the same; 0: always.
  Seconds full_rescan_interval{300};
};

// How much history the journal keeps (docs/journal.md, "Bounded history"). The journal appends to
// one file and rotates it into a sealed segment at segment_bytes; a sealed segment is removed once
// its newest record is older than max_age, or, oldest first, while the journal's files together
// exceed max_bytes. The engine's own state (cooldowns, decisions in flight) is kept apart, in
// the journal's index, and never expires.
struct JournalConfig {
  Seconds max_age{Seconds{30 * 86400}};                   // 30 days
  std::uint64_t max_bytes = std::uint64_t{256} << 20;     // 256 MiB
  std::uint64_t segment_bytes = std::uint64_t{16} << 20;  // 16 MiB
};

// Leader election among engine replicas (on with leader_election).
struct HaConfig {
  Seconds lease_ttl{10};  // etcd: a leader that stops renewing loses leadership after this
  std::string id;         // this replica's id; empty: "<host>-<pid>"
};

struct Config {
  std::string coordination_dir = "coordination";
  HealthWeights health;
  PolicyConfig policy;
  GateConfig gate;
  ActuatorConfig actuator;
  StoreConfig store;
  JournalConfig journal;
  bool leader_election = false;
  HaConfig ha;
  std::string log_level = "warn";
  std::map<std::string, std::string> labels;  // constant labels for exported metrics
};

}  // namespace dslmodel

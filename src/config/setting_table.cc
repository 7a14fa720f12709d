#include "config/setting_table.h"

#include <cstddef>
#include <cstdint>

namespace dslmodel::config {
namespace {

constexpr IntBounds kStepBounds{1, 100'000, ""};
constexpr IntBounds kFileSizeBounds{1, std::int64_t{1} << 30, ""};  // bytes, at most 1 GiB
constexpr IntBounds kJournalBytesBounds{std::int64_t{1} << 20, std::int64_t{1} << 40, ""};
constexpr IntBounds kSegmentBytesBounds{std::int64_t{64} << 10, std::int64_t{1} << 30, ""};
constexpr RealBounds kWeightBounds{0, 1, ""};
constexpr RealBounds kSaturationBounds{1e-9, 1e9, ""};

// NOLINTBEGIN(bugprone-narrowing-conversions,cppcoreguidelines-narrowing-conversions)
constexpr IntSetting kIntSettings[] = {
    {"engine.max_decisions", kDecisionsBounds,
     [](Config& c, std::int64_t v) { c.gate.max_decisions = static_cast<int>(v); }},
    {"engine.max_concurrent_decisions",
     {1, 1000, ""},
     [](Config& c, std::int64_t v) { c.gate.max_concurrent_decisions = static_cast<int>(v); }},
    {"engine.lease_ttl", kLeaseTtlBounds,
     [](Config& c, std::int64_t v) { c.ha.lease_ttl = Seconds(v); }},
    {"policy.min_agents", kAgentCountBounds,
     [](Config& c, std::int64_t v) { c.policy.min_agents = static_cast<int>(v); }},
    {"policy.max_agents", kMaxAgentsBounds,
     [](Config& c, std::int64_t v) { c.policy.max_agents = static_cast<int>(v); }},
    {"policy.critical_scale_step", kStepBounds,
     [](Config& c, std::int64_t v) { c.policy.critical_scale_step = static_cast<int>(v); }},
    {"policy.degraded_scale_step", kStepBounds,
     [](Config& c, std::int64_t v) { c.policy.degraded_scale_step = static_cast<int>(v); }},
    {"policy.repair_batch", kStepBounds,
     [](Config& c, std::int64_t v) { c.policy.repair_batch = static_cast<int>(v); }},
    {"policy.agent_timeout", kPositiveSecondsBounds,
     [](Config& c, std::int64_t v) { c.policy.agent_timeout = Seconds(v); }},
    {"policy.scale_down_delay", kSecondsBounds,
     [](Config& c, std::int64_t v) { c.policy.scale_down_delay = Seconds(v); }},
    {"policy.cooldown", kSecondsBounds,
     [](Config& c, std::int64_t v) { c.policy.cooldown = Seconds(v); }},
    {"policy.max_work_age", kSecondsBounds,
     [](Config& c, std::int64_t v) { c.policy.max_work_age = Seconds(v); }},
    {"policy.retention", kSecondsBounds,
     [](Config& c, std::int64_t v) { c.policy.retention = Seconds(v); }},
    {"policy.default_max_attempts", kAttemptsBounds,
     [](Config& c, std::int64_t v) { c.policy.default_max_attempts = v; }},
    {"policy.archive_min_files",
     {1, 1'000'000'000, ""},
     [](Config& c, std::int64_t v) { c.policy.archive_min_files = static_cast<int>(v); }},
    {"policy.target_drain", kSecondsBounds,
     [](Config& c, std::int64_t v) { c.policy.target_drain = Seconds(v); }},
    {"policy.default_service_time_ms", kMillisBounds,
     [](Config& c, std::int64_t v) { c.policy.default_service_time = Millis(v); }},
    {"policy.arrival_window", kSecondsBounds,
     [](Config& c, std::int64_t v) { c.policy.arrival_window = Seconds(v); }},
    {"policy.default_startup_lag", kSecondsBounds,
     [](Config& c, std::int64_t v) { c.policy.default_startup_lag = Seconds(v); }},
    {"policy.scale_up_period", kSecondsBounds,
     [](Config& c, std::int64_t v) { c.policy.scale_up_period = Seconds(v); }},
    {"policy.scale_down_window", kSecondsBounds,
     [](Config& c, std::int64_t v) { c.policy.scale_down_window = Seconds(v); }},
    {"store.max_file_size", kFileSizeBounds,
     [](Config& c, std::int64_t v) { c.store.max_file_size = static_cast<std::size_t>(v); }},
    {"store.stale_temp_age", kPositiveSecondsBounds,
     [](Config& c, std::int64_t v) { c.store.stale_temp_age = Seconds(v); }},
    {"store.full_rescan_interval", kSecondsBounds,
     [](Config& c, std::int64_t v) { c.store.full_rescan_interval = Seconds(v); }},
    {"journal.max_age", kSecondsBounds,
     [](Config& c, std::int64_t v) { c.journal.max_age = Seconds(v); }},
    {"journal.max_bytes", kJournalBytesBounds,
     [](Config& c, std::int64_t v) { c.journal.max_bytes = static_cast<std::uint64_t>(v); }},
    {"journal.segment_bytes", kSegmentBytesBounds,
     [](Config& c, std::int64_t v) { c.journal.segment_bytes = static_cast<std::uint64_t>(v); }},
    {"actuator.timeout", kSecondsBounds,
     [](Config& c, std::int64_t v) { c.actuator.timeout = Seconds(v); }},
    {"actuator.agent_grace", kSecondsBounds,
     [](Config& c, std::int64_t v) { c.actuator.agent_grace = Seconds(v); }},
};
// NOLINTEND(bugprone-narrowing-conversions,cppcoreguidelines-narrowing-conversions)

constexpr RealSetting kRealSettings[] = {
    {"engine.min_confidence", kConfidenceBounds,
     [](Config& c, double v) { c.gate.min_confidence = v; }},
    {"policy.scale_factor",
     {0.01, 100, ""},
     [](Config& c, double v) { c.policy.scale_factor = v; }},
    {"policy.target_utilization",
     {0.05, 1.0, ""},
     [](Config& c, double v) { c.policy.target_utilization = v; }},
    {"health.completion_weight", kWeightBounds,
     [](Config& c, double v) { c.health.completion = v; }},
    {"health.agents_weight", kWeightBounds, [](Config& c, double v) { c.health.agents = v; }},
    {"health.queue_weight", kWeightBounds, [](Config& c, double v) { c.health.queue = v; }},
    {"health.telemetry_weight", kWeightBounds, [](Config& c, double v) { c.health.telemetry = v; }},
    {"health.agent_saturation", kSaturationBounds,
     [](Config& c, double v) { c.health.agent_saturation = v; }},
    {"health.queue_saturation", kSaturationBounds,
     [](Config& c, double v) { c.health.queue_saturation = v; }},
    {"health.telemetry_saturation", kSaturationBounds,
     [](Config& c, double v) { c.health.telemetry_saturation = v; }},
};

template <typename Setting, std::size_t N>
const Setting* find_setting(const Setting (&table)[N], std::string_view key) {
  for (const Setting& s : table) {
    if (s.key == key) return &s;
  }
  return nullptr;
}

}  // namespace

const IntSetting* find_int_setting(std::string_view key) { return find_setting(kIntSettings, key); }

const RealSetting* find_real_setting(std::string_view key) {
  return find_setting(kRealSettings, key);
}

}  // namespace dslmodel::config

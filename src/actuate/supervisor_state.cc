#include "actuate/supervisor_state.h"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <system_error>

#include "core/json_text.h"
#include "dslmodel/time.h"
#include "platform/files.h"

namespace dslmodel::actuate {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxStateFile = std::size_t{16} * 1024 * 1024;

std::string string_field(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// Decodes one entry; false when it lacks what identifies a process.
bool decode_record(const json& j, SupervisorEntry& out) {
  if (!j.is_object()) return false;
  auto pid = j.find("pid");
  auto start = j.find("start_time");
  out.id = string_field(j, "id");
  if (out.id.empty() || pid == j.end() || !pid->is_number_integer() || start == j.end() ||
      !start->is_number_unsigned()) {
    return false;
  }
  auto pid_value = pid->get<std::int64_t>();
  if (pid_value <= 0 || pid_value > std::int64_t{1} << 30) return false;
  out.pid = static_cast<pid_t>(pid_value);
  out.start_time = start->get<std::uint64_t>();
  out.slot = string_field(j, "slot");
  if (out.slot.empty()) out.slot = out.id;
  out.decision_id = string_field(j, "decision_id");
  out.started_at = parse_iso8601(string_field(j, "started_at")).value_or(TimePoint{});
  auto deaths = j.find("deaths");
  if (deaths != j.end() && deaths->is_number_integer()) {
    out.deaths = static_cast<int>(std::clamp<std::int64_t>(deaths->get<std::int64_t>(), 0, 64));
  }
  return true;
}

}  // namespace

std::string encode_state(const std::vector<SupervisorEntry>& records) {
  json agents = json::array();
  for (const SupervisorEntry& r : records) {
    agents.push_back({{"id", r.id},
                      {"slot", r.slot},
                      {"pid", r.pid},
                      {"start_time", r.start_time},
                      {"started_at", format_iso8601(r.started_at)},
                      {"decision_id", r.decision_id},
                      {"deaths", r.deaths}});
  }
  json doc = {{"version", 1}, {"agents", std::move(agents)}};
  return dump_json(doc, 1) + "\n";
}

Result<DecodedState> decode_state(std::string_view text) {
  json doc = parse_json_or_discarded(text);
  if (doc.is_discarded() || !doc.is_object()) {
    return Status(ErrorCode::kCorrupt, "supervisor state is not a JSON object");
  }
  auto agents = doc.find("agents");
  if (agents == doc.end() || !agents->is_array()) {
    return Status(ErrorCode::kCorrupt, "supervisor state has no \"agents\" array");
  }
  DecodedState state;
  for (const json& entry : *agents) {
    SupervisorEntry record;
    if (decode_record(entry, record)) {
      state.records.push_back(std::move(record));
    } else {
      ++state.malformed;
    }
  }
  return state;
}

Result<DecodedState> load_state(const std::filesystem::path& path) {
  auto text = platform::read_file_limited(path, kMaxStateFile);
  if (!text.ok() && text.status().code() == ErrorCode::kNotFound) return DecodedState{};
  if (!text.ok()) return text.status();
  auto state = decode_state(*text);
  if (!state.ok()) {
    return Status(ErrorCode::kCorrupt,
                  fmt::format("{}: {}", path.string(), state.status().message()));
  }
  return state;
}

Status save_state(const std::filesystem::path& path, const std::vector<SupervisorEntry>& records) {
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  if (ec) {
    return Status(ErrorCode::kIo,
                  fmt::format("cannot create {}: {}", path.parent_path().string(), ec.message()));
  }
  return platform::atomic_write_file(path, encode_state(records));
}

}  // namespace dslmodel::actuate

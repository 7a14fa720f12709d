// What the e2e tests read and write in a coordination directory: work items, records, the
// process supervisor's state. Header-only; test code.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <system_error>

#include "dslmodel/time.h"
#include "integration/dsl_runner.h"

namespace dslmodel::testing {

inline std::string now_iso() { return format_iso8601(std::chrono::system_clock::now()); }

// A pending work item running `argv_json` (a JSON array), created now.
inline void add_item(const TempDir& d, const std::string& id, const std::string& argv_json) {
  write_file(d / ("work_" + id + ".json"),
             R"({"id":")" + id + R"(","status":"pending","priority":0,"created":")" + now_iso() +
                 R"(","attempts":0,"max_attempts":3,"command":)" + argv_json + "}");
}

inline nlohmann::json read_json(const std::filesystem::path& p) {
  return nlohmann::json::parse(slurp(p), nullptr, false);
}

// Supervised agents recorded by the process supervisor: id → pid.
inline std::map<std::string, int> supervised(const TempDir& d) {
  std::map<std::string, int> out;
  nlohmann::json s = read_json(d / ".dsl" / "supervisor.json");
  if (!s.is_object() || !s.contains("agents")) return out;
  for (const auto& a : s["agents"]) out[a.value("id", "")] = a.value("pid", 0);
  return out;
}

// Records whose file name starts with `prefix` ("work_", "completed_", ...).
inline int count_prefix(const TempDir& d, const std::string& prefix) {
  int n = 0;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(d.path(), ec)) {
    const std::string name = e.path().filename().string();
    if (name.starts_with(prefix) && name.ends_with(".json")) ++n;
  }
  return n;
}

// The [actuator] section that runs this build's agents fast: the process supervisor starting
// `dsl agent run` with a 1 s heartbeat, 50 ms polls and a 1 s stop grace.
inline std::string fast_agents_toml() {
  return R"([actuator]
kind = "process"
agent_grace = 5
agent_command = [")" +
         std::string(DSLMODEL_DSL_BINARY) +
         R"(", "agent", "run", "-c", "{coordination_dir}", "--id", "{agent_id}",
                 "--heartbeat", "1", "--poll-ms", "50", "--grace", "1"]
)";
}

}  // namespace dslmodel::testing

#include "actuate/command_actuator.h"

#include <fmt/format.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>

#include "core/template.h"
#include "platform/subprocess.h"

namespace dslmodel::actuate {
namespace {

constexpr std::array<std::string_view, 5> kPlaceholders = {
    "target_agents", "current_agents", "delta", "decision_id", "coordination_dir"};

// The last non-empty line of output, without its newline.
std::string last_line(std::string_view output) {
  while (!output.empty() && (output.back() == '\n' || output.back() == '\r')) {
    output.remove_suffix(1);
  }
  std::size_t nl = output.rfind('\n');
  return std::string(nl == std::string_view::npos ? output : output.substr(nl + 1));
}

Status failure_status(const std::string& prog, const platform::RunResult& run,
                      std::chrono::seconds timeout) {
  if (run.timed_out) {
    return Status(ErrorCode::kTimeout,
                  fmt::format("{} timed out after {}s", prog, timeout.count()));
  }
  std::string how = run.signal != 0 ? fmt::format("was killed by signal {}", run.signal)
                                    : fmt::format("exited with {}", run.exit_code);
  std::string line = last_line(run.output);
  if (line.empty()) return Status(ErrorCode::kUnavailable, fmt::format("{} {}", prog, how));
  return Status(ErrorCode::kUnavailable, fmt::format("{} {}: {}", prog, how, line));
}

}  // namespace

Result<std::unique_ptr<CommandActuator>> CommandActuator::create(const ActuatorConfig& config,
                                                                 std::string coordination_dir) {
  if (config.scale_command.empty() || config.scale_command.front().empty()) {
    return Status(ErrorCode::kInvalidArgument, "actuator scale_command is empty");
  }
  std::array<Placeholder, kPlaceholders.size()> names{};
  for (std::size_t i = 0; i < names.size(); ++i) names[i].name = kPlaceholders[i];
  if (auto bad = find_unknown_placeholder(config.scale_command, names)) {
    return Status(ErrorCode::kInvalidArgument,
                  fmt::format("actuator scale_command argument {}: unknown placeholder {{{}}} "
                              "(known: {{target_agents}} {{current_agents}} {{delta}} "
                              "{{decision_id}} {{coordination_dir}})",
                              bad->arg, bad->name));
  }
  return std::unique_ptr<CommandActuator>(new CommandActuator(config, std::move(coordination_dir)));
}

CommandActuator::CommandActuator(ActuatorConfig config, std::string coordination_dir)
    : argv_template_(std::move(config.scale_command)),
      timeout_(config.timeout),
      coordination_dir_(std::move(coordination_dir)) {}

std::vector<std::string> CommandActuator::expand(const ScaleRequest& request) const {
  // Same order as kPlaceholders.
  const std::array<std::string, 5> values = {
      std::to_string(request.target_agents), std::to_string(request.current_agents),
      std::to_string(request.target_agents - request.current_agents), request.decision_id,
      coordination_dir_};
  std::array<Placeholder, kPlaceholders.size()> known{};
  for (std::size_t i = 0; i < known.size(); ++i) known[i] = {kPlaceholders[i], values[i]};
  return expand_argv(argv_template_, known);
}

Result<ActuationResult> CommandActuator::scale(const ScaleRequest& request) {
  std::vector<std::string> argv = expand(request);
  platform::RunOptions options;
  options.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(timeout_);
  options.max_output = kMaxOutput;
  auto run = platform::run_command(argv, options);
  if (!run.ok()) return run.status();
  if (run->timed_out || run->signal != 0 || run->exit_code != 0) {
    return failure_status(argv.front(), *run, timeout_);
  }
  ActuationResult result;
  result.summary = fmt::format("scaled from {} to {} agents via {}", request.current_agents,
                               request.target_agents, argv.front());
  result.output = std::move(run->output);
  result.inverse = {{"kind", "command"},
                    {"current_agents", request.target_agents},
                    {"target_agents", request.current_agents},
                    {"decision_id", request.decision_id},
                    {"argv_template", argv_template_}};
  return result;
}

Result<ActuationResult> CommandActuator::undo(const nlohmann::json& inverse) {
  auto count = [&inverse](const char* key) -> std::optional<int> {
    auto it = inverse.find(key);
    if (it == inverse.end() || !it->is_number_integer()) return std::nullopt;
    auto v = it->get<std::int64_t>();
    if (v < 0 || v > 1'000'000) return std::nullopt;
    return static_cast<int>(v);
  };
  auto kind = inverse.is_object() ? inverse.find("kind") : inverse.end();
  std::optional<int> current = inverse.is_object() ? count("current_agents") : std::nullopt;
  std::optional<int> target = inverse.is_object() ? count("target_agents") : std::nullopt;
  if (kind == inverse.end() || *kind != "command" || !current || !target) {
    return Status(ErrorCode::kInvalidArgument,
                  "not a command actuator inverse: needs kind \"command\" and non-negative "
                  "integer current_agents and target_agents");
  }
  ScaleRequest request;
  request.current_agents = *current;
  request.target_agents = *target;
  auto id = inverse.find("decision_id");
  request.decision_id =
      "undo-" + (id != inverse.end() && id->is_string() ? id->get<std::string>() : "unknown");
  return scale(request);
}

std::string CommandActuator::name() const { return "command"; }

}  // namespace dslmodel::actuate

#include "actuate/command_actuator.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>

#include "platform/subprocess.h"

namespace dslmodel::actuate {
namespace {

constexpr std::array<std::string_view, 5> kPlaceholders = {
    "target_agents", "current_agents", "delta", "decision_id", "coordination_dir"};

bool is_identifier(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (std::isalnum(static_cast<unsigned char>(c)) == 0 && c != '_') return false;
  }
  return true;
}

// The first "{identifier}" in arg that is not a known placeholder, if any.
std::optional<std::string> unknown_placeholder(std::string_view arg) {
  std::size_t open = arg.find('{');
  while (open != std::string_view::npos) {
    std::size_t close = arg.find('}', open + 1);
    if (close == std::string_view::npos) return std::nullopt;
    std::string_view name = arg.substr(open + 1, close - open - 1);
    if (is_identifier(name)) {
      bool known = false;
      for (std::string_view p : kPlaceholders) known = known || p == name;
      if (!known) return std::string(name);
    }
    open = arg.find('{', open + 1);
  }
  return std::nullopt;
}

// arg with every known "{name}" replaced by values[name], in one pass: substituted text is never
// scanned again, so a value that itself contains braces stays literal.
std::string substitute(std::string_view arg, const std::array<std::string, 5>& values) {
  std::string out;
  out.reserve(arg.size());
  std::size_t pos = 0;
  while (pos < arg.size()) {
    std::size_t open = arg.find('{', pos);
    std::size_t close = open == std::string_view::npos ? open : arg.find('}', open + 1);
    if (close == std::string_view::npos) break;
    std::string_view name = arg.substr(open + 1, close - open - 1);
    out.append(arg.substr(pos, open - pos));
    std::size_t i = 0;
    while (i < kPlaceholders.size() && kPlaceholders[i] != name) ++i;
    if (i < kPlaceholders.size()) {
      out.append(values[i]);
      pos = close + 1;
    } else {
      out.push_back('{');
      pos = open + 1;
    }
  }
  out.append(arg.substr(std::min(pos, arg.size())));
  return out;
}

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
  for (std::size_t i = 0; i < config.scale_command.size(); ++i) {
    if (auto bad = unknown_placeholder(config.scale_command[i])) {
      return Status(ErrorCode::kInvalidArgument,
                    fmt::format("actuator scale_command argument {}: unknown placeholder {{{}}} "
                                "(known: {{target_agents}} {{current_agents}} {{delta}} "
                                "{{decision_id}} {{coordination_dir}})",
                                i, *bad));
    }
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
  std::vector<std::string> argv;
  argv.reserve(argv_template_.size());
  for (const std::string& arg : argv_template_) argv.push_back(substitute(arg, values));
  return argv;
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

#include "actuate/pool_actuator.h"

#include <fmt/format.h>

#include <limits>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "core/json_text.h"
#include "etcd/client.h"
#include "store/etcd_pool.h"

namespace dslmodel::actuate {
namespace {

using nlohmann::json;

constexpr std::string_view kNoPool =
    "no agent pool is running: start `dsl agent pool --store URL` on each host";

json optional_int(const std::optional<int>& v) { return v ? json(*v) : json(nullptr); }

int running_total(const std::vector<store::PoolMember>& members) {
  int total = 0;
  for (const auto& m : members) total += m.running;
  return total;
}

std::string describe_members(const std::vector<store::PoolMember>& members) {
  std::string out;
  for (const auto& m : members) {
    out += fmt::format("pool {} (host {}, pid {}): running {}, share {}\n", m.id, m.host, m.pid,
                       m.running, m.share);
  }
  return out;
}

}  // namespace

Result<std::unique_ptr<PoolActuator>> PoolActuator::create(const std::string& store_url,
                                                           Options options, const Clock& clock,
                                                           std::shared_ptr<etcd::Client> client) {
  auto url = etcd::parse_store_url(store_url);
  if (!url.ok()) {
    return Status(ErrorCode::kInvalidArgument, "pool actuator: " + url.status().message());
  }
  if (!client) client = std::make_shared<etcd::Client>(url->endpoints);
  return std::unique_ptr<PoolActuator>(
      new PoolActuator(std::move(client), url->prefix, options, clock));
}

PoolActuator::PoolActuator(std::shared_ptr<etcd::Client> client, const std::string& prefix,
                           Options options, const Clock& clock)
    : options_(options),
      clock_(clock),
      client_(std::move(client)),
      pool_(std::make_unique<store::EtcdPool>(*client_, prefix, clock_)) {}

PoolActuator::~PoolActuator() = default;

std::string PoolActuator::name() const { return "pool"; }

Result<ActuationResult> PoolActuator::scale(const ScaleRequest& request) {
  if (request.target_agents < 0) {
    return Status(ErrorCode::kInvalidArgument,
                  fmt::format("target agents must be >= 0, got {}", request.target_agents));
  }
  auto members = pool_->members();
  if (!members.ok()) {
    return Status(ErrorCode::kUnavailable,
                  "cannot read the agent pools: " + members.status().message());
  }
  if (members->empty()) return Status(ErrorCode::kUnavailable, std::string(kNoPool));
  auto previous = pool_->set_desired(request.target_agents, request.epoch, request.decision_id);
  if (!previous.ok()) return previous.status();
  ActuationResult result = converge(fmt::format("desired agents set to {}", request.target_agents),
                                    request.target_agents);
  result.inverse = {{"kind", "pool"},
                    {"pool_previous_target", optional_int(*previous)},
                    {"target", request.target_agents}};
  return result;
}

Result<ActuationResult> PoolActuator::undo(const json& inverse) {
  if (!inverse.is_object() || !inverse.contains("pool_previous_target")) {
    return Status(ErrorCode::kInvalidArgument,
                  "pool actuator: inverse lacks \"pool_previous_target\": " + dump_json(inverse));
  }
  if (auto kind = inverse.find("kind"); kind != inverse.end() && *kind != "pool") {
    return Status(ErrorCode::kInvalidArgument,
                  "pool actuator cannot undo an inverse of kind " + kind->dump());
  }
  const json& prev = inverse["pool_previous_target"];
  if (!prev.is_null() && !(prev.is_number_integer() && prev.get<std::int64_t>() >= 0 &&
                           prev.get<std::int64_t>() <= std::numeric_limits<int>::max())) {
    return Status(ErrorCode::kInvalidArgument,
                  "pool actuator: \"pool_previous_target\" must be null or an integer >= 0");
  }
  Result<std::optional<int>> replaced =
      prev.is_null() ? pool_->clear_desired() : pool_->set_desired(prev.get<int>(), 0, "undo");
  if (!replaced.ok()) return replaced.status();
  const int target = prev.is_null() ? 0 : prev.get<int>();
  ActuationResult result =
      prev.is_null() ? converge("desired agent count cleared", 0)
                     : converge(fmt::format("desired agents set back to {}", target), target);
  result.inverse = {{"kind", "pool"},
                    {"pool_previous_target", optional_int(*replaced)},
                    {"target", prev.is_null() ? json(nullptr) : json(target)}};
  return result;
}

ActuationResult PoolActuator::converge(const std::string& verb, int target) {
  const auto deadline = std::chrono::steady_clock::now() + options_.timeout;
  std::vector<store::PoolMember> last;
  bool seen = false;
  std::string error;
  for (;;) {
    auto members = pool_->members();
    if (members.ok()) {
      last = std::move(members).value();
      seen = true;
      error.clear();
      if (running_total(last) == target) break;
    } else {
      error = members.status().message();
    }
    if (std::chrono::steady_clock::now() + options_.poll > deadline) break;
    std::this_thread::sleep_for(options_.poll);
  }
  ActuationResult result;
  if (!seen) {
    result.summary = fmt::format("{}: the pools could not be read ({}); they converge on their own",
                                 verb, error);
    return result;
  }
  const int running = running_total(last);
  result.summary = fmt::format("{}: {} running on {} pool(s)", verb, running, last.size());
  if (running != target) {
    result.summary +=
        fmt::format(", not caught up yet after {} s (the pools converge on their own)",
                    std::chrono::duration_cast<std::chrono::seconds>(options_.timeout).count());
  }
  result.output = describe_members(last);
  return result;
}

}  // namespace dslmodel::actuate

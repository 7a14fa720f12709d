// Private to dslmodel_core: how record statuses are classified (docs/metrics.md) and how a work
// claim is matched to the agent holding it. Pure functions of values; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "dslmodel/config.h"
#include "dslmodel/snapshot.h"

namespace dslmodel::detail {

// ASCII lower-case copy.
std::string lower(std::string_view s);

// Work status classes. All take the status as stored and lower-case it first.
// Terminal: completed, failed, cancelled, dead. Everything else counts in the queue.
bool is_terminal_work(std::string_view status);
// "pending" or empty.
bool is_pending_work(std::string_view status);
// "claimed", "in_progress" or "running".
bool is_claimed_work(std::string_view status);

// Completed statuses: empty, completed, success, succeeded, done.
bool is_succeeded(std::string_view status);
// Completed statuses: failed, error.
bool is_failed(std::string_view status);

// Statuses the metrics know (docs/metrics.md). A record with another status is still counted:
// a work item in the queue (neither pending nor in progress), an agent as not active, a
// completed record as neither succeeded nor failed.
bool is_known_work_status(std::string_view status);
bool is_known_agent_status(std::string_view status);
bool is_known_completed_status(std::string_view status);

// n within [min_agents, max_agents]; max is raised to min when the config inverts them.
std::int64_t clamp_agents(std::int64_t n, const PolicyConfig& p);

// "agent_7" and "7" name the same agent: strips one leading "agent_".
std::string_view agent_key(std::string_view name);

// What the snapshot says about the holder of a claim.
struct ClaimHolder {
  bool active = false;        // some matching agent record is active now
  bool clearly_gone = false;  // no owner, no record, or every record stopped/failed or its
                              // heartbeat older than 2 x agent_timeout
};

// Agent records indexed by agent_key of their id and of their file stem ("agent_<x>.json").
// Holds pointers into the snapshot: REQUIRES the snapshot outlives the index.
class AgentIndex {
 public:
  explicit AgentIndex(const Snapshot& snap);

  // The holder of a claim by `claimed_by` ("7" or "agent_7"); an empty name has no holder.
  ClaimHolder holder(std::string_view claimed_by, Seconds agent_timeout, TimePoint now) const;

 private:
  std::unordered_map<std::string, std::vector<const AgentRecord*>> by_key_;
};

}  // namespace dslmodel::detail

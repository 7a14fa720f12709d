// The rules both work queues (DirWorkQueue, EtcdWorkQueue) share, written once (private to
// src/store): where show() looks for an item, the queue order, which records a claim may take and
// which list() returns. Pure functions; thread-safe.
#pragma once

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dslmodel/work_queue.h"
#include "store/work_item.h"

namespace dslmodel::store::detail {

// Where an item can be, in the order show() looks: its record name and the "location" reported.
struct ItemPlace {
  std::string file;      // e.g. "work_7.json", "archive/done/work_7.json"
  const char* location;  // "queue" | "completed" | "dead" | "archive"
};
std::array<ItemPlace, 4> item_places(std::string_view id);

// Sorts records with priority, created and file members into queue order (queue_before()).
template <typename T>
void sort_queue_order(std::vector<T>& items) {
  std::sort(items.begin(), items.end(), [](const T& a, const T& b) {
    return queue_before(a.priority, a.created, a.file, b.priority, b.created, b.file);
  });
}

// The claim rule: a record a claim may take (its parsed status pending, or none).
bool claimable(std::string_view status);

// The status filter of list(): `status` lower-cased ("" lists every item).
std::string status_filter(std::string_view status);

// The item list() returns for record `name` holding `bytes`, or nullopt: only records the
// snapshot would count (parse_work), whose status (missing = "pending") matches `want`.
std::optional<WorkItem> listed_item(std::string_view name, std::string_view bytes,
                                    std::string_view want);

// The claim_next() rule both queues share: `agent_id` must be a valid record id; the candidate
// cache is refilled first when `stale()`, and once more when a claim from it (`claim()`) finds
// nothing in a cache it did not just list.
template <typename Stale, typename Refill, typename Claim>
Result<std::optional<WorkItem>> claim_next_from_cache(const std::string& agent_id, Stale stale,
                                                      Refill refill, Claim claim) {
  if (!valid_record_id(agent_id)) {
    return Status(ErrorCode::kInvalidArgument, fmt::format("invalid agent id \"{}\"", agent_id));
  }
  bool listed = false;
  if (stale()) {
    if (Status s = refill(); !s.ok()) return s;
    listed = true;
  }
  Result<std::optional<WorkItem>> got = claim();
  if (!got.ok() || got->has_value() || listed) return got;
  if (Status s = refill(); !s.ok()) return s;  // the cache ran dry: list once more
  return claim();
}

}  // namespace dslmodel::store::detail

// The etcd executor of the repair plans (store/repair_plan.h), private to EtcdStore: each step
// reads its records at one revision, asks the plan layer whether it applies and what to write,
// and becomes ONE transaction that compares every record read (and compares absent every key it
// creates). Thread-compatible; the client is thread-safe.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dslmodel/config.h"
#include "dslmodel/status.h"
#include "dslmodel/store.h"
#include "etcd/client.h"
#include "store/etcd_keys.h"

namespace dslmodel::store::etcd_exec {

// What one step needs to know of its store.
struct Ctx {
  etcd::Client& client;
  const std::string& prefix;
  const StoreConfig& cfg;
  TimePoint now;
  std::int64_t epoch;
};

// One transaction to commit, and the inverse element it makes (apply only).
struct Txn {
  std::vector<etcd::Compare> compares;
  std::vector<etcd::TxnOp> ops;
  nlohmann::json inverse;
};

// A step's choice: a transaction, or no write and a verdict (why it is skipped, or for undo the
// problem; empty: nothing left to do).
struct StepChoice {
  std::optional<Txn> txn;
  std::string verdict;
};

// A choice of no write, with verdict `why`.
inline StepChoice verdict(std::string why) { return {std::nullopt, std::move(why)}; }

// A choice to commit `txn`.
inline StepChoice commit_with(Txn txn) { return {std::move(txn), ""}; }

// The key of record `file` under the prefix ("" when it names none).
std::string key_of(const Ctx& ctx, std::string_view file);

// Reads `files` (their keys) at one revision. Fails as the client does.
Result<detail::KeysRead> read_files(const Ctx& ctx, const std::vector<std::string>& files);

// The transaction of repair action `a` as the records stand now. Fails as the client does.
Result<StepChoice> decide_repair(const Ctx& ctx, const RepairAction& a);

// The transaction of undoing inverse element `el` as the records stand now.
Result<StepChoice> decide_undo(const Ctx& ctx, const nlohmann::json& el);

}  // namespace dslmodel::store::etcd_exec

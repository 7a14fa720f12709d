// EtcdStore: snapshot() at one revision; apply() and undo() as one guarded transaction per step.
// Every step is decided from a fresh read (store/etcd_txn.h: compares, operations, inverse) and
// committed with its compares and the fencing compare; a lost race re-reads and decides again.
#include "store/etcd_store.h"

#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <utility>

#include "core/json_text.h"
#include "etcd/client.h"
#include "store/etcd_keys.h"
#include "store/etcd_names.h"
#include "store/etcd_txn.h"
#include "store/record_parse.h"
#include "store/repair_plan.h"
#include "store/snapshot_build.h"

namespace dslmodel::store {
namespace {

constexpr int kRaceAttempts = 5;

using etcd_exec::Ctx;
using etcd_exec::StepChoice;
using etcd_exec::Txn;

Status fenced_status(std::int64_t epoch) {
  return {ErrorCode::kConflict, fmt::format("fenced: leadership lost (epoch {})", epoch)};
}

enum class Commit { kCommitted, kRaced };

// Commits `txn` with the fencing compare; kConflict "fenced: ..." when leadership is lost.
Result<Commit> commit(const Ctx& ctx, const Txn& txn) {
  std::vector<Compare> compares = txn.compares;
  std::vector<TxnOp> on_failure;
  const std::string leader = etcd_leader_key(ctx.prefix);
  if (ctx.epoch > 0) {
    compares.push_back(Compare::create_revision(leader, Compare::Op::kEqual, ctx.epoch));
    on_failure.push_back(TxnOp::get(leader));
  }
  Result<etcd::TxnResult> r = ctx.client.txn(compares, txn.ops, on_failure);
  if (!r.ok()) return r.status();
  if (r->succeeded) return Commit::kCommitted;
  if (ctx.epoch > 0) {
    const bool held = !r->ranges.empty() && !r->ranges[0].kvs.empty() &&
                      r->ranges[0].kvs[0].create_revision == ctx.epoch;
    if (!held) return fenced_status(ctx.epoch);
  }
  return Commit::kRaced;
}

// Decides and commits one step, deciding again after a lost race. A committed step returns its
// transaction's inverse; otherwise the final verdict.
template <typename Decide>
Result<StepChoice> run_step(const Ctx& ctx, Decide&& decide) {
  for (int attempt = 0; attempt < kRaceAttempts; ++attempt) {
    Result<StepChoice> d = decide();
    if (!d.ok() || !d->txn) return d;
    Result<Commit> c = commit(ctx, *d->txn);
    if (!c.ok()) return c.status();
    if (*c == Commit::kCommitted) return d;
  }
  return StepChoice{std::nullopt,
                    fmt::format("changed concurrently {} times in a row", kRaceAttempts)};
}

using detail::keep_record;

void read_value(const std::string& file, std::string_view value, std::size_t max_size,
                Snapshot& snap) {
  const std::optional<RecordKind> kind = kind_of_file(file);
  if (!kind) return;
  if (std::optional<std::string> why = file_name_problem(file)) {
    snap.rejected.push_back({valid_utf8(file), std::move(*why)});
    return;
  }
  if (value.size() > max_size) {
    snap.rejected.push_back({file, fmt::format("over the size limit ({} bytes)", max_size)});
    return;
  }
  switch (*kind) {
    case RecordKind::kAgent:
      keep_record(parse_agent(file, value), file, snap.agents, snap);
      break;
    case RecordKind::kWork:
      keep_record(parse_work(file, value), file, snap.work, snap);
      break;
    case RecordKind::kCompleted:
      keep_record(parse_completed(file, value), file, snap.completed, snap);
      break;
    case RecordKind::kTelemetry:
      keep_record(parse_telemetry(file, value), file, snap.telemetry, snap);
      break;
  }
}

}  // namespace

EtcdStore::EtcdStore(std::shared_ptr<etcd::Client> client, std::string prefix, StoreConfig cfg,
                     std::string url, const Clock* clock)
    : client_(std::move(client)),
      prefix_(std::move(prefix)),
      cfg_(std::move(cfg)),
      url_(std::move(url)),
      clock_(clock != nullptr ? clock : &system_clock_) {}

Result<Snapshot> EtcdStore::snapshot() {
  Snapshot snap;
  snap.source = url_;
  std::int64_t revision = 0;
  for (std::string_view dir : {kEtcdAgentDir, kEtcdWorkDir, kEtcdCompletedDir, kEtcdTelemetryDir}) {
    Result<std::vector<KeyValue>> kvs =
        detail::range_all(*client_, etcd_dir_prefix(prefix_, dir), revision, &revision);
    if (!kvs.ok()) return kvs.status();
    for (const KeyValue& kv : *kvs) {
      std::optional<std::string> file = file_for_key(prefix_, kv.key);
      if (file) read_value(*file, kv.value, cfg_.max_file_size, snap);
    }
  }
  etcd::RangeOptions at;
  at.revision = revision;
  Result<etcd::RangeResult> totals = client_->range(etcd_totals_key(prefix_), at);
  if (!totals.ok()) return totals.status();
  if (!totals->kvs.empty()) snap.archived = parse_archived_totals(totals->kvs[0].value);
  detail::finish_snapshot(snap);
  return snap;
}

Status EtcdStore::check_fencing() {
  if (epoch_ <= 0) return Status::Ok();
  Result<etcd::RangeResult> r = client_->range(etcd_leader_key(prefix_));
  if (!r.ok()) return r.status();
  if (r->kvs.empty() || r->kvs[0].create_revision != epoch_) return fenced_status(epoch_);
  return Status::Ok();
}

Result<RepairOutcome> EtcdStore::apply(const std::vector<RepairAction>& actions) {
  if (Status s = check_fencing(); !s.ok()) return s;
  RepairOutcome out;
  for (std::size_t i = 0; i < actions.size(); ++i) {
    const RepairAction& a = actions[i];
    const Ctx ctx{*client_, prefix_, cfg_, clock_->now(), epoch_};
    Result<StepChoice> step = run_step(ctx, [&] { return etcd_exec::decide_repair(ctx, a); });
    if (!step.ok()) {
      // kConflict is the fencing verdict: the client itself never answers with it.
      if (step.status().code() == ErrorCode::kConflict || out.applied == 0) {
        return step.status();
      }
      const std::size_t left = actions.size() - i;
      out.skipped += static_cast<int>(left);
      out.notes.push_back(fmt::format(
          "{} {}: {}: stopped, {} action(s) not applied (a write that timed out may have been)",
          to_string(a.op), a.file, step.status().message(), left));
      break;
    }
    if (step->txn) {
      ++out.applied;
      out.inverse.push_back(std::move(step->txn->inverse));
    } else {
      ++out.skipped;
      out.notes.push_back(plan::skip_note(a, step->verdict));
    }
  }
  return out;
}

Status EtcdStore::undo(const nlohmann::json& inverse) {
  if (!inverse.is_array()) return {ErrorCode::kInvalidArgument, "inverse is not a JSON array"};
  if (Status s = check_fencing(); !s.ok()) return s;
  std::vector<std::string> problems;
  for (std::size_t i = inverse.size(); i > 0; --i) {
    const json& el = inverse[i - 1];
    const Ctx ctx{*client_, prefix_, cfg_, clock_->now(), epoch_};
    Result<StepChoice> step = run_step(ctx, [&] { return etcd_exec::decide_undo(ctx, el); });
    if (!step.ok()) return step.status();
    if (!step->txn && !step->verdict.empty()) {
      problems.push_back(step->verdict);
    }
  }
  return plan::undo_status(problems);
}

}  // namespace dslmodel::store

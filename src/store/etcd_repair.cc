// The etcd executor of the repair plans: each repair and undo step as one transaction
// (store/etcd_txn.h). What a step requires and writes is store/repair_plan.h's.
#include <fmt/format.h>

#include <utility>

#include "core/json_text.h"
#include "core/records.h"
#include "store/claim_processes.h"
#include "store/etcd_keys.h"
#include "store/etcd_names.h"
#include "store/etcd_queue_util.h"
#include "store/etcd_txn.h"
#include "store/record_parse.h"
#include "store/repair_plan.h"

namespace dslmodel::store::etcd_exec {
namespace {

using detail::unchanged;

using detail::as_read;

// The record in `kv` as the plan layer reads it; else why not.
Result<plan::Read> read_of(const Ctx& ctx, const std::optional<KeyValue>& kv) {
  if (!kv) return Status(ErrorCode::kNotFound, "gone");
  if (kv->value.size() > ctx.cfg.max_file_size) {
    return Status(ErrorCode::kInvalidArgument,
                  fmt::format("over the size limit ({} bytes)", ctx.cfg.max_file_size));
  }
  return plan::read_of(kv->value);
}

// The archive name for `file` under archive/<sub>/ and its key.
Result<std::pair<std::string, std::string>> archive_slot(const Ctx& ctx, std::string_view sub,
                                                         std::string_view file) {
  Result<std::string> name = detail::free_archive_name(ctx.client, ctx.prefix, sub, file);
  if (!name.ok()) return name.status();
  std::string key = key_of(ctx, *name);
  return std::make_pair(std::move(name).value(), std::move(key));
}

Result<StepChoice> requeue(const Ctx& ctx, const RepairAction& a) {
  Result<detail::KeysRead> read = read_files(ctx, {a.file});
  if (!read.ok()) return read.status();
  const std::optional<KeyValue>& kv = read->kvs[0];
  Result<plan::Read> rec = read_of(ctx, kv);
  if (!rec.ok()) return verdict(rec.status().message());
  plan::Edit edit = plan::requeue(a, *rec, detail::requeue_wait, ctx.now);
  if (edit.skip) return verdict(*edit.skip);
  json inverse = plan::restore_step(a.file, kv->value, edit.text);
  return commit_with({{unchanged(*kv)}, {TxnOp::put(kv->key, edit.text)}, std::move(inverse)});
}

Result<StepChoice> dead_letter(const Ctx& ctx, const RepairAction& a) {
  const std::string dead = plan::sibling(records::kDeadPrefix, a.file);
  Result<detail::KeysRead> read = read_files(ctx, {a.file, dead});
  if (!read.ok()) return read.status();
  const std::optional<KeyValue>& kv = read->kvs[0];
  Result<plan::Read> rec = read_of(ctx, kv);
  if (!rec.ok()) return verdict(rec.status().message());
  if (auto why = plan::dead_letter_problem(*rec)) return verdict(*why);
  if (read->kvs[1]) return verdict(plan::exists(dead));
  const std::string dead_key = key_of(ctx, dead);
  return commit_with(
      {{unchanged(*kv), Compare::absent(dead_key)},
       {TxnOp::put(dead_key, plan::dead_record(a, *rec, ctx.now)), TxnOp::del(kv->key)},
       plan::undead_step(a.file, dead, kv->value)});
}

Result<StepChoice> retry_failed(const Ctx& ctx, const RepairAction& a) {
  const std::string work = plan::sibling(records::kWorkPrefix, a.file);
  Result<detail::KeysRead> read = read_files(ctx, {a.file, work});
  if (!read.ok()) return read.status();
  const std::optional<KeyValue>& kv = read->kvs[0];
  Result<plan::Read> rec = read_of(ctx, kv);
  if (!rec.ok()) return verdict(rec.status().message());
  plan::Edit edit = plan::retry(a, *rec, ctx.now);
  if (edit.skip) return verdict(*edit.skip);
  if (read->kvs[1]) return verdict(plan::exists(work));
  auto slot = archive_slot(ctx, "retried", a.file);
  if (!slot.ok()) return slot.status();
  const std::string work_key = key_of(ctx, work);
  return commit_with(
      {{unchanged(*kv), Compare::absent(work_key), Compare::absent(slot->second)},
       {TxnOp::put(work_key, edit.text), TxnOp::put(slot->second, kv->value), TxnOp::del(kv->key)},
       plan::unretry_step(a.file, slot->first, work, edit.text)});
}

Result<StepChoice> archive(const Ctx& ctx, const RepairAction& a) {
  const std::string totals_key = etcd_totals_key(ctx.prefix);
  Result<detail::KeysRead> read = detail::get_keys(ctx.client, {key_of(ctx, a.file), totals_key});
  if (!read.ok()) return read.status();
  const std::optional<KeyValue>& kv = read->kvs[0];
  const std::optional<KeyValue>& totals_kv = read->kvs[1];
  if (Result<plan::Read> rec = read_of(ctx, kv);
      !rec.ok() && rec.status().code() != ErrorCode::kCorrupt) {
    return verdict(rec.status().message());
  }
  Result<ArchivedTotals> add = plan::archived_counts(a.file, kv->value);
  if (!add.ok()) return verdict(add.status().message());
  ArchivedTotals totals = totals_kv ? parse_archived_totals(totals_kv->value) : ArchivedTotals{};
  plan::add_totals(totals, *add);
  const bool telemetry = kind_of_file(a.file) == RecordKind::kTelemetry;
  auto slot = archive_slot(ctx, telemetry ? "telemetry" : "completed", a.file);
  if (!slot.ok()) return slot.status();
  return commit_with(
      {{unchanged(*kv), as_read(totals_key, totals_kv), Compare::absent(slot->second)},
       {TxnOp::put(slot->second, kv->value), TxnOp::del(kv->key),
        TxnOp::put(totals_key, dump_archived_totals(totals))},
       plan::unarchive_step(a.file, slot->first)});
}

Result<StepChoice> finalize(const Ctx& ctx, const RepairAction& a) {
  const std::string completed = plan::sibling(records::kCompletedPrefix, a.file);
  Result<detail::KeysRead> read = read_files(ctx, {a.file, completed});
  if (!read.ok()) return read.status();
  const std::optional<KeyValue>& kv = read->kvs[0];
  const std::optional<KeyValue>& done = read->kvs[1];
  Result<plan::Read> rec = read_of(ctx, kv);
  if (!rec.ok()) return verdict(rec.status().message());
  if (auto why = plan::finalize_problem(a, *rec, completed, read_of(ctx, done))) {
    return verdict(*why);
  }
  auto slot = archive_slot(ctx, "done", a.file);
  if (!slot.ok()) return slot.status();
  return commit_with({{unchanged(*kv), unchanged(*done), Compare::absent(slot->second)},
                      {TxnOp::put(slot->second, kv->value), TxnOp::del(kv->key)},
                      plan::unfinalize_step(a.file, slot->first)});
}

}  // namespace

std::string key_of(const Ctx& ctx, std::string_view file) {
  return key_for_file(ctx.prefix, file).value_or("");
}

Result<detail::KeysRead> read_files(const Ctx& ctx, const std::vector<std::string>& files) {
  std::vector<std::string> keys;
  keys.reserve(files.size());
  for (const std::string& f : files) keys.push_back(key_of(ctx, f));
  return detail::get_keys(ctx.client, keys);
}

Result<StepChoice> decide_repair(const Ctx& ctx, const RepairAction& a) {
  if (auto why = plan::target_problem(a, key_for_file(ctx.prefix, a.file).has_value())) {
    return verdict(*why);
  }
  switch (a.op) {
    case RepairOp::kRequeue:
      return requeue(ctx, a);
    case RepairOp::kDeadLetter:
      return dead_letter(ctx, a);
    case RepairOp::kRetryFailed:
      return retry_failed(ctx, a);
    case RepairOp::kArchive:
      return archive(ctx, a);
    case RepairOp::kFinalize:
      return finalize(ctx, a);
  }
  return verdict("not an item repair");
}

}  // namespace dslmodel::store::etcd_exec

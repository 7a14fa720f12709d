// The etcd executor of undo steps: each inverse element as one transaction (store/etcd_txn.h).
// What undoing a step means is store/repair_plan.h's.
#include <fmt/format.h>

#include <utility>

#include "store/etcd_keys.h"
#include "store/etcd_names.h"
#include "store/etcd_queue_util.h"
#include "store/etcd_txn.h"
#include "store/record_parse.h"
#include "store/repair_plan.h"

namespace dslmodel::store::etcd_exec {
namespace {

using detail::unchanged;

bool is_record(std::string_view prefix, std::string_view file) {
  return kind_of_file(file).has_value() && key_for_file(prefix, file).has_value();
}

bool is_archived(std::string_view prefix, std::string_view file, std::string_view sub = "") {
  const std::string under = sub.empty() ? "archive/" : fmt::format("archive/{}/", sub);
  return file.starts_with(under) && key_for_file(prefix, file).has_value();
}

// Moving `from` back to `file` (read as `kv` and `from_kv`) with `content`, as
// plan::undo_move_back decides.
StepChoice move_back(const Ctx& ctx, const std::string& file, const std::string& from,
                     const std::optional<KeyValue>& kv, const std::optional<KeyValue>& from_kv,
                     const std::string& content) {
  plan::UndoChoice c = plan::undo_move_back(file, from, kv.has_value(), from_kv.has_value());
  if (c.what != plan::Undo::kWrite) return verdict(std::move(c.problem));
  const std::string key = key_of(ctx, file);
  return {Txn{{unchanged(*from_kv), Compare::absent(key)},
              {TxnOp::put(key, content), TxnOp::del(from_kv->key)},
              {}},
          ""};
}

Result<StepChoice> undo_restore(const Ctx& ctx, const plan::Step& st) {
  if (!is_record(ctx.prefix, st.file)) return verdict(plan::bad_step("restore"));
  Result<detail::KeysRead> read = read_files(ctx, {st.file});
  if (!read.ok()) return read.status();
  const std::optional<KeyValue>& kv = read->kvs[0];
  plan::UndoChoice c =
      plan::undo_restore(st, kv ? std::optional<std::string>(kv->value) : std::nullopt);
  if (c.what != plan::Undo::kWrite) return verdict(std::move(c.problem));
  return StepChoice{Txn{{unchanged(*kv)}, {TxnOp::put(kv->key, st.content)}, {}}, ""};
}

Result<StepChoice> undo_undead(const Ctx& ctx, const plan::Step& st) {
  if (!is_record(ctx.prefix, st.file) || !key_for_file(ctx.prefix, st.dead_file) ||
      !st.dead_file.starts_with("dead_")) {
    return verdict(plan::bad_step("undead"));
  }
  Result<detail::KeysRead> read = read_files(ctx, {st.file, st.dead_file});
  if (!read.ok()) return read.status();
  return move_back(ctx, st.file, st.dead_file, read->kvs[0], read->kvs[1], st.content);
}

Result<StepChoice> undo_unretry(const Ctx& ctx, const plan::Step& st) {
  if (!is_record(ctx.prefix, st.file) || !is_record(ctx.prefix, st.work_file) ||
      (!st.archived.empty() && !is_archived(ctx.prefix, st.archived))) {
    return verdict(plan::bad_step("unretry"));
  }
  std::vector<std::string> files = {st.work_file, st.file};
  if (!st.archived.empty()) files.push_back(st.archived);
  Result<detail::KeysRead> read = read_files(ctx, files);
  if (!read.ok()) return read.status();
  const std::optional<KeyValue>& work_kv = read->kvs[0];
  Txn txn;
  // Take the queued retry back first, unless an agent has picked it up meanwhile.
  plan::UndoChoice c = plan::undo_retry_item(
      st, work_kv ? std::optional<std::string>(work_kv->value) : std::nullopt);
  if (c.what == plan::Undo::kConflict) return verdict(std::move(c.problem));
  if (c.what == plan::Undo::kWrite) {
    Result<std::string> name =
        detail::free_archive_name(ctx.client, ctx.prefix, "undone", st.work_file);
    if (!name.ok()) return name.status();
    const std::string undone_key = key_of(ctx, *name);
    txn.compares = {unchanged(*work_kv), Compare::absent(undone_key)};
    txn.ops = {TxnOp::put(undone_key, work_kv->value), TxnOp::del(work_kv->key)};
  }
  const bool archived_exists = read->kvs.size() > 2 && read->kvs[2].has_value();
  if (plan::retry_record_back(st, archived_exists, read->kvs[1].has_value())) {
    const KeyValue& from = *read->kvs[2];
    const std::string completed_key = key_of(ctx, st.file);
    txn.compares.push_back(unchanged(from));
    txn.compares.push_back(Compare::absent(completed_key));
    txn.ops.push_back(TxnOp::put(completed_key, from.value));
    txn.ops.push_back(TxnOp::del(from.key));
  }
  if (txn.ops.empty()) return verdict("");
  return StepChoice{std::move(txn), ""};
}

Result<StepChoice> undo_unarchive(const Ctx& ctx, const plan::Step& st) {
  const std::optional<RecordKind> kind = kind_of_file(st.file);
  if (!is_record(ctx.prefix, st.file) || !is_archived(ctx.prefix, st.archived) ||
      (kind != RecordKind::kCompleted && kind != RecordKind::kTelemetry)) {
    return verdict(plan::bad_step("unarchive"));
  }
  const std::string totals_key = etcd_totals_key(ctx.prefix);
  Result<detail::KeysRead> read =
      detail::get_keys(ctx.client, {key_of(ctx, st.file), key_of(ctx, st.archived), totals_key});
  if (!read.ok()) return read.status();
  const std::optional<KeyValue>& from = read->kvs[1];
  const std::optional<KeyValue>& totals_kv = read->kvs[2];
  StepChoice choice =
      move_back(ctx, st.file, st.archived, read->kvs[0], from, from ? from->value : "");
  if (!choice.txn) return choice;
  ArchivedTotals totals = totals_kv ? parse_archived_totals(totals_kv->value) : ArchivedTotals{};
  if (Result<ArchivedTotals> sub = plan::archived_counts(st.file, from->value); sub.ok()) {
    plan::subtract_totals(totals, *sub);
  }
  choice.txn->compares.push_back(detail::as_read(totals_key, totals_kv));
  choice.txn->ops.push_back(TxnOp::put(totals_key, dump_archived_totals(totals)));
  return choice;
}

Result<StepChoice> undo_unfinalize(const Ctx& ctx, const plan::Step& st) {
  if (!is_record(ctx.prefix, st.file) || !is_archived(ctx.prefix, st.archived, "done")) {
    return verdict(plan::bad_step("unfinalize"));
  }
  Result<detail::KeysRead> read = read_files(ctx, {st.file, st.archived});
  if (!read.ok()) return read.status();
  const std::optional<KeyValue>& from = read->kvs[1];
  return move_back(ctx, st.file, st.archived, read->kvs[0], from, from ? from->value : "");
}

}  // namespace

Result<StepChoice> decide_undo(const Ctx& ctx, const json& el) {
  const plan::Step st = plan::step_of(el);
  if (st.op == "restore") return undo_restore(ctx, st);
  if (st.op == "undead") return undo_undead(ctx, st);
  if (st.op == "unretry") return undo_unretry(ctx, st);
  if (st.op == "unarchive") return undo_unarchive(ctx, st);
  if (st.op == "unfinalize") return undo_unfinalize(ctx, st);
  return verdict("unknown op \"" + st.op + "\"");
}

}  // namespace dslmodel::store::etcd_exec

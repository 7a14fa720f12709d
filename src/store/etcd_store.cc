// EtcdStore: snapshot() at one revision; apply() and undo() as one guarded transaction per step.
// Every step is decided from a fresh read (a Plan: compares, operations, inverse) and committed
// with its compares and the fencing compare; a lost race re-reads and decides again.
#include "store/etcd_store.h"

#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <utility>

#include "core/json_text.h"
#include "etcd/client.h"
#include "store/claim_processes.h"
#include "store/etcd_keys.h"
#include "store/record_parse.h"
#include "store/snapshot_build.h"
#include "store/work_item.h"

namespace dslmodel::store {
namespace {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;
using etcd::Compare;
using etcd::KeyValue;
using etcd::TxnOp;

constexpr int kRaceAttempts = 5;

// What one step needs to know of its store.
struct Ctx {
  etcd::Client& client;
  const std::string& prefix;
  const StoreConfig& cfg;
  TimePoint now;
  std::int64_t epoch;
};

// One transaction to commit, and the inverse element it makes (apply only).
struct Plan {
  std::vector<Compare> compares;
  std::vector<TxnOp> ops;
  json inverse;
};

// A step's decision: a plan, or no write and a verdict (why it is skipped, or for undo the
// problem; empty: nothing left to do).
struct Decision {
  std::optional<Plan> plan;
  std::string verdict;
};

Decision verdict(std::string why) { return {std::nullopt, std::move(why)}; }

Compare unchanged(const KeyValue& kv) {
  return Compare::mod_revision(kv.key, Compare::Op::kEqual, kv.mod_revision);
}

// unchanged(kv) when it exists, else absent(key).
Compare as_read(const std::string& key, const std::optional<KeyValue>& kv) {
  return kv ? unchanged(*kv) : Compare::absent(key);
}

Status fenced_status(std::int64_t epoch) {
  return {ErrorCode::kConflict, fmt::format("fenced: leadership lost (epoch {})", epoch)};
}

enum class Commit { kCommitted, kRaced };

// Commits `plan` with the fencing compare; kConflict "fenced: ..." when leadership is lost.
Result<Commit> commit(const Ctx& ctx, const Plan& plan) {
  std::vector<Compare> compares = plan.compares;
  std::vector<TxnOp> on_failure;
  const std::string leader = etcd_leader_key(ctx.prefix);
  if (ctx.epoch > 0) {
    compares.push_back(Compare::create_revision(leader, Compare::Op::kEqual, ctx.epoch));
    on_failure.push_back(TxnOp::get(leader));
  }
  Result<etcd::TxnResult> r = ctx.client.txn(compares, plan.ops, on_failure);
  if (!r.ok()) return r.status();
  if (r->succeeded) return Commit::kCommitted;
  if (ctx.epoch > 0) {
    const bool held = !r->ranges.empty() && !r->ranges[0].kvs.empty() &&
                      r->ranges[0].kvs[0].create_revision == ctx.epoch;
    if (!held) return fenced_status(ctx.epoch);
  }
  return Commit::kRaced;
}

std::string key_of(const Ctx& ctx, std::string_view file) {
  return key_for_file(ctx.prefix, file).value_or("");
}

// Reads `files` (their keys) at one revision.
Result<detail::KeysRead> read_files(const Ctx& ctx, const std::vector<std::string>& files) {
  std::vector<std::string> keys;
  keys.reserve(files.size());
  for (const std::string& f : files) keys.push_back(key_of(ctx, f));
  return detail::get_keys(ctx.client, keys);
}

// The record in `kv` as a JSON object into `doc`; else why not.
std::optional<std::string> parse_record(const Ctx& ctx, const std::optional<KeyValue>& kv,
                                        ojson& doc) {
  if (!kv) return "gone";
  if (kv->value.size() > ctx.cfg.max_file_size) {
    return fmt::format("over the size limit ({} bytes)", ctx.cfg.max_file_size);
  }
  doc = record_doc_or_discarded(kv->value);
  if (doc.is_discarded()) return "not a JSON object";
  return std::nullopt;
}

std::string sibling(std::string_view kind, std::string_view file) {
  return fmt::format("{}{}.json", kind, id_from_file_name(file));
}

// The archive name for `file` under archive/<sub>/ and its key.
Result<std::pair<std::string, std::string>> archive_slot(const Ctx& ctx, std::string_view sub,
                                                         std::string_view file) {
  Result<std::string> name = detail::free_archive_name(ctx.client, ctx.prefix, sub, file);
  if (!name.ok()) return name.status();
  std::string key = key_of(ctx, *name);
  return std::make_pair(std::move(name).value(), std::move(key));
}

// The counts a completed or telemetry record adds to the archived totals; else why it cannot be
// archived.
Result<ArchivedTotals> archived_counts(std::string_view file, std::string_view value) {
  ArchivedTotals add;
  if (kind_of_file(file) == RecordKind::kTelemetry) {
    Result<TelemetryRecord> r = parse_telemetry(file, value);
    if (!r.ok()) return r.status();
    add.telemetry = r->count;
    return add;
  }
  Result<CompletedRecord> r = parse_completed(file, value);
  if (!r.ok()) return r.status();
  const Outcome o = completed_outcome(r->status);
  add.succeeded = o == Outcome::kSucceeded ? 1 : 0;
  add.failed = o == Outcome::kFailed ? 1 : 0;
  return add;
}

Result<Decision> decide_requeue(const Ctx& ctx, const RepairAction& a) {
  Result<detail::KeysRead> read = read_files(ctx, {a.file});
  if (!read.ok()) return read.status();
  const std::optional<KeyValue>& kv = read->kvs[0];
  ojson doc;
  if (auto why = parse_record(ctx, kv, doc)) return verdict(*why);
  if (auto why = detail::repair_claim_blocker(doc, a.expect_claimed_by)) return verdict(*why);
  if (auto why = detail::requeue_wait(doc)) return verdict("postponed: " + *why);
  detail::mark_requeued(doc, a.reason, ctx.now);
  std::string out = dump_json(doc);
  Plan p{{unchanged(*kv)}, {TxnOp::put(kv->key, out)}, {}};
  p.inverse = {{"op", "restore"}, {"file", a.file}, {"content", kv->value}, {"applied", out}};
  return Decision{std::move(p), ""};
}

Result<Decision> decide_dead_letter(const Ctx& ctx, const RepairAction& a) {
  const std::string dead = sibling("dead_", a.file);
  Result<detail::KeysRead> read = read_files(ctx, {a.file, dead});
  if (!read.ok()) return read.status();
  const std::optional<KeyValue>& kv = read->kvs[0];
  ojson doc;
  if (auto why = parse_record(ctx, kv, doc)) return verdict(*why);
  if (detail::is_finished_status(detail::status_of(doc))) {
    return verdict(fmt::format("status is now \"{}\"", detail::status_of(doc)));
  }
  if (read->kvs[1]) return verdict(dead + " exists");
  detail::mark_dead(doc, a.reason, ctx.now);
  const std::string dead_key = key_of(ctx, dead);
  Plan p{{unchanged(*kv), Compare::absent(dead_key)},
         {TxnOp::put(dead_key, dump_json(doc)), TxnOp::del(kv->key)},
         {}};
  p.inverse = {{"op", "undead"}, {"file", a.file}, {"dead_file", dead}, {"content", kv->value}};
  return Decision{std::move(p), ""};
}

Result<Decision> decide_retry_failed(const Ctx& ctx, const RepairAction& a) {
  const std::string work = sibling("work_", a.file);
  Result<detail::KeysRead> read = read_files(ctx, {a.file, work});
  if (!read.ok()) return read.status();
  const std::optional<KeyValue>& kv = read->kvs[0];
  ojson doc;
  if (auto why = parse_record(ctx, kv, doc)) return verdict(*why);
  Result<CompletedRecord> parsed = parse_completed(a.file, kv->value);
  if (!parsed.ok() || !parsed->retryable) return verdict("not a retryable failure");
  if (read->kvs[1]) return verdict(work + " exists");
  const std::string content = dump_json(detail::retry_item(a.file, doc, ctx.now));
  auto slot = archive_slot(ctx, "retried", a.file);
  if (!slot.ok()) return slot.status();
  const std::string work_key = key_of(ctx, work);
  Plan p{{unchanged(*kv), Compare::absent(work_key), Compare::absent(slot->second)},
         {TxnOp::put(work_key, content), TxnOp::put(slot->second, kv->value), TxnOp::del(kv->key)},
         {}};
  p.inverse = {{"op", "unretry"},
               {"file", a.file},
               {"archived", slot->first},
               {"work_file", work},
               {"work_content", content}};
  return Decision{std::move(p), ""};
}

Result<Decision> decide_archive(const Ctx& ctx, const RepairAction& a) {
  const std::optional<RecordKind> kind = kind_of_file(a.file);
  if (kind != RecordKind::kCompleted && kind != RecordKind::kTelemetry) {
    return verdict("not a completed or telemetry file");
  }
  const std::string totals_key = etcd_totals_key(ctx.prefix);
  Result<detail::KeysRead> read = detail::get_keys(ctx.client, {key_of(ctx, a.file), totals_key});
  if (!read.ok()) return read.status();
  const std::optional<KeyValue>& kv = read->kvs[0];
  const std::optional<KeyValue>& totals_kv = read->kvs[1];
  if (!kv) return verdict("gone");
  if (kv->value.size() > ctx.cfg.max_file_size) {
    return verdict(fmt::format("over the size limit ({} bytes)", ctx.cfg.max_file_size));
  }
  Result<ArchivedTotals> add = archived_counts(a.file, kv->value);
  if (!add.ok()) return verdict(add.status().message());
  ArchivedTotals totals = totals_kv ? parse_archived_totals(totals_kv->value) : ArchivedTotals{};
  totals.succeeded += add->succeeded;
  totals.failed += add->failed;
  totals.telemetry += add->telemetry;
  auto slot = archive_slot(ctx, kind == RecordKind::kTelemetry ? "telemetry" : "completed", a.file);
  if (!slot.ok()) return slot.status();
  Plan p{{unchanged(*kv), as_read(totals_key, totals_kv), Compare::absent(slot->second)},
         {TxnOp::put(slot->second, kv->value), TxnOp::del(kv->key),
          TxnOp::put(totals_key, dump_archived_totals(totals))},
         {}};
  p.inverse = {{"op", "unarchive"}, {"file", a.file}, {"archived", slot->first}};
  return Decision{std::move(p), ""};
}

Result<Decision> decide_finalize(const Ctx& ctx, const RepairAction& a) {
  const std::string completed = sibling("completed_", a.file);
  Result<detail::KeysRead> read = read_files(ctx, {a.file, completed});
  if (!read.ok()) return read.status();
  const std::optional<KeyValue>& kv = read->kvs[0];
  const std::optional<KeyValue>& done = read->kvs[1];
  ojson doc;
  if (auto why = parse_record(ctx, kv, doc)) return verdict(*why);
  if (auto why = detail::repair_claim_blocker(doc, a.expect_claimed_by)) return verdict(*why);
  ojson done_doc;
  if (auto why = parse_record(ctx, done, done_doc)) return verdict(completed + ": " + *why);
  if (auto why =
          detail::finalize_blocker(done_doc, completed, detail::str_or_empty(doc, "claimed_by"))) {
    return verdict(*why);
  }
  auto slot = archive_slot(ctx, "done", a.file);
  if (!slot.ok()) return slot.status();
  Plan p{{unchanged(*kv), unchanged(*done), Compare::absent(slot->second)},
         {TxnOp::put(slot->second, kv->value), TxnOp::del(kv->key)},
         {}};
  p.inverse = {{"op", "unfinalize"}, {"file", a.file}, {"archived", slot->first}};
  return Decision{std::move(p), ""};
}

Result<Decision> decide_repair(const Ctx& ctx, const RepairAction& a) {
  const std::optional<RecordKind> kind = kind_of_file(a.file);
  if (!kind || !key_for_file(ctx.prefix, a.file)) return verdict("not a record file name");
  if (a.op == RepairOp::kArchive) return decide_archive(ctx, a);
  const bool on_work = a.op != RepairOp::kRetryFailed;
  if (on_work && kind != RecordKind::kWork) return verdict("not a work file");
  if (!on_work && kind != RecordKind::kCompleted) return verdict("not a completed file");
  switch (a.op) {
    case RepairOp::kRequeue:
      return decide_requeue(ctx, a);
    case RepairOp::kDeadLetter:
      return decide_dead_letter(ctx, a);
    case RepairOp::kRetryFailed:
      return decide_retry_failed(ctx, a);
    case RepairOp::kFinalize:
      return decide_finalize(ctx, a);
    case RepairOp::kArchive:
      break;
  }
  return verdict("not an item repair");
}

std::string str_member(const json& el, const char* key) {
  if (!el.is_object()) return "";
  auto it = el.find(key);
  return it != el.end() && it->is_string() ? it->get<std::string>() : "";
}

bool is_record(std::string_view prefix, std::string_view file) {
  return kind_of_file(file).has_value() && key_for_file(prefix, file).has_value();
}

bool is_archived(std::string_view prefix, std::string_view file, std::string_view sub = "") {
  const std::string under = sub.empty() ? "archive/" : fmt::format("archive/{}/", sub);
  return file.starts_with(under) && key_for_file(prefix, file).has_value();
}

Decision problem(std::string_view file, std::string_view why) {
  return verdict(fmt::format("{}: {}", file, why));
}

Decision bad_step(std::string_view op) { return verdict(fmt::format("{}: bad file name", op)); }

Result<Decision> undo_restore(const Ctx& ctx, const json& el) {
  const std::string file = str_member(el, "file");
  if (!is_record(ctx.prefix, file)) return bad_step("restore");
  Result<detail::KeysRead> read = read_files(ctx, {file});
  if (!read.ok()) return read.status();
  const std::optional<KeyValue>& kv = read->kvs[0];
  if (!kv) return problem(file, "gone, not restored");
  const std::string content = str_member(el, "content");
  if (kv->value == content) return verdict("");
  if (kv->value != str_member(el, "applied")) return problem(file, "changed since, not restored");
  return Decision{Plan{{unchanged(*kv)}, {TxnOp::put(kv->key, content)}, {}}, ""};
}

Result<Decision> undo_undead(const Ctx& ctx, const json& el) {
  const std::string file = str_member(el, "file");
  const std::string dead = str_member(el, "dead_file");
  if (!is_record(ctx.prefix, file) || !key_for_file(ctx.prefix, dead) ||
      !dead.starts_with("dead_")) {
    return bad_step("undead");
  }
  Result<detail::KeysRead> read = read_files(ctx, {file, dead});
  if (!read.ok()) return read.status();
  const std::optional<KeyValue>& work = read->kvs[0];
  const std::optional<KeyValue>& dead_kv = read->kvs[1];
  if (!dead_kv) return work ? verdict("") : problem(file, "gone, not restored");
  if (work) return problem(file, "exists again, " + dead + " left in place");
  const std::string work_key = key_of(ctx, file);
  return Decision{Plan{{unchanged(*dead_kv), Compare::absent(work_key)},
                       {TxnOp::put(work_key, str_member(el, "content")), TxnOp::del(dead_kv->key)},
                       {}},
                  ""};
}

Result<Decision> undo_unretry(const Ctx& ctx, const json& el) {
  const std::string file = str_member(el, "file");
  const std::string work = str_member(el, "work_file");
  const std::string archived = str_member(el, "archived");
  if (!is_record(ctx.prefix, file) || !is_record(ctx.prefix, work) ||
      (!archived.empty() && !is_archived(ctx.prefix, archived))) {
    return bad_step("unretry");
  }
  std::vector<std::string> files = {work, file};
  if (!archived.empty()) files.push_back(archived);
  Result<detail::KeysRead> read = read_files(ctx, files);
  if (!read.ok()) return read.status();
  const std::optional<KeyValue>& work_kv = read->kvs[0];
  const std::optional<KeyValue>& completed_kv = read->kvs[1];
  Plan p;
  // Take the queued retry back first, unless an agent has picked it up meanwhile.
  if (work_kv) {
    if (work_kv->value != str_member(el, "work_content")) {
      return problem(work, "changed since, kept");
    }
    auto slot = archive_slot(ctx, "undone", work);
    if (!slot.ok()) return slot.status();
    p.compares = {unchanged(*work_kv), Compare::absent(slot->second)};
    p.ops = {TxnOp::put(slot->second, work_kv->value), TxnOp::del(work_kv->key)};
  }
  if (!archived.empty() && read->kvs[2] && !completed_kv) {
    const KeyValue& from = *read->kvs[2];
    const std::string completed_key = key_of(ctx, file);
    p.compares.push_back(unchanged(from));
    p.compares.push_back(Compare::absent(completed_key));
    p.ops.push_back(TxnOp::put(completed_key, from.value));
    p.ops.push_back(TxnOp::del(from.key));
  }
  if (p.ops.empty()) return verdict("");
  return Decision{std::move(p), ""};
}

Result<Decision> undo_unarchive(const Ctx& ctx, const json& el) {
  const std::string file = str_member(el, "file");
  const std::string archived = str_member(el, "archived");
  const std::optional<RecordKind> kind = kind_of_file(file);
  if (!is_record(ctx.prefix, file) || !is_archived(ctx.prefix, archived) ||
      (kind != RecordKind::kCompleted && kind != RecordKind::kTelemetry)) {
    return bad_step("unarchive");
  }
  const std::string totals_key = etcd_totals_key(ctx.prefix);
  Result<detail::KeysRead> read =
      detail::get_keys(ctx.client, {key_of(ctx, file), key_of(ctx, archived), totals_key});
  if (!read.ok()) return read.status();
  const std::optional<KeyValue>& kv = read->kvs[0];
  const std::optional<KeyValue>& from = read->kvs[1];
  const std::optional<KeyValue>& totals_kv = read->kvs[2];
  if (kv) return from ? problem(file, "exists again, " + archived + " left in place") : verdict("");
  if (!from) return problem(file, "gone, not restored");
  ArchivedTotals totals = totals_kv ? parse_archived_totals(totals_kv->value) : ArchivedTotals{};
  if (Result<ArchivedTotals> sub = archived_counts(file, from->value); sub.ok()) {
    totals.succeeded = std::max<std::int64_t>(0, totals.succeeded - sub->succeeded);
    totals.failed = std::max<std::int64_t>(0, totals.failed - sub->failed);
    totals.telemetry = std::max<std::int64_t>(0, totals.telemetry - sub->telemetry);
  }
  const std::string key = key_of(ctx, file);
  return Decision{Plan{{unchanged(*from), Compare::absent(key), as_read(totals_key, totals_kv)},
                       {TxnOp::put(key, from->value), TxnOp::del(from->key),
                        TxnOp::put(totals_key, dump_archived_totals(totals))},
                       {}},
                  ""};
}

Result<Decision> undo_unfinalize(const Ctx& ctx, const json& el) {
  const std::string file = str_member(el, "file");
  const std::string archived = str_member(el, "archived");
  if (!is_record(ctx.prefix, file) || !is_archived(ctx.prefix, archived, "done")) {
    return bad_step("unfinalize");
  }
  Result<detail::KeysRead> read = read_files(ctx, {file, archived});
  if (!read.ok()) return read.status();
  const std::optional<KeyValue>& kv = read->kvs[0];
  const std::optional<KeyValue>& from = read->kvs[1];
  if (kv) return from ? problem(file, "exists again, " + archived + " left in place") : verdict("");
  if (!from) return problem(file, "gone, not restored");
  const std::string key = key_of(ctx, file);
  return Decision{Plan{{unchanged(*from), Compare::absent(key)},
                       {TxnOp::put(key, from->value), TxnOp::del(from->key)},
                       {}},
                  ""};
}

Result<Decision> decide_undo(const Ctx& ctx, const json& el) {
  const std::string op = str_member(el, "op");
  if (op == "restore") return undo_restore(ctx, el);
  if (op == "undead") return undo_undead(ctx, el);
  if (op == "unretry") return undo_unretry(ctx, el);
  if (op == "unarchive") return undo_unarchive(ctx, el);
  if (op == "unfinalize") return undo_unfinalize(ctx, el);
  return verdict("unknown op \"" + op + "\"");
}

// Decides and commits one step, deciding again after a lost race. A committed step returns its
// plan's inverse; otherwise the final verdict.
template <typename Decide>
Result<Decision> run_step(const Ctx& ctx, Decide&& decide) {
  for (int attempt = 0; attempt < kRaceAttempts; ++attempt) {
    Result<Decision> d = decide();
    if (!d.ok() || !d->plan) return d;
    Result<Commit> c = commit(ctx, *d->plan);
    if (!c.ok()) return c.status();
    if (*c == Commit::kCommitted) return d;
  }
  return verdict(fmt::format("changed concurrently {} times in a row", kRaceAttempts));
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
    Result<Decision> step = run_step(ctx, [&] { return decide_repair(ctx, a); });
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
    if (step->plan) {
      ++out.applied;
      out.inverse.push_back(std::move(step->plan->inverse));
    } else {
      ++out.skipped;
      out.notes.push_back(
          fmt::format("{} {}: skipped: {}", to_string(a.op), a.file, step->verdict));
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
    Result<Decision> step = run_step(ctx, [&] { return decide_undo(ctx, el); });
    if (!step.ok()) return step.status();
    if (!step->plan && !step->verdict.empty()) {
      problems.push_back(step->verdict);
    }
  }
  if (problems.empty()) return Status::Ok();
  std::string message = "not undone: " + problems.front();
  for (std::size_t n = 1; n < problems.size(); ++n) message += "; " + problems[n];
  return {ErrorCode::kConflict, std::move(message)};
}

}  // namespace dslmodel::store

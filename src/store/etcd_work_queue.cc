// EtcdWorkQueue: every change of an item is one transaction guarded by the mod_revision read.
#include "store/etcd_work_queue.h"

#include <fmt/format.h>
#include <sys/random.h>

#include <algorithm>
#include <cctype>
#include <functional>
#include <utility>

#include "core/json_text.h"
#include "etcd/client.h"
#include "store/claim_processes.h"
#include "store/etcd_keys.h"
#include "store/etcd_queue_util.h"
#include "store/queue_rules.h"
#include "store/record_parse.h"
#include "store/work_item.h"

namespace dslmodel::store {
namespace {

using detail::as_read;
using detail::busy;
using detail::kRounds;
using detail::parse_object;
using detail::unchanged;

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;
using etcd::Compare;
using etcd::KeyValue;
using etcd::TxnOp;

unsigned random_seed() {
  unsigned seed = 0;
  if (::getrandom(&seed, sizeof seed, GRND_NONBLOCK) != static_cast<ssize_t>(sizeof seed)) {
    seed = static_cast<unsigned>(std::chrono::steady_clock::now().time_since_epoch().count());
  }
  return seed;
}

bool succeeded(const KeyValue& completed) {
  ojson doc = record_doc_or_discarded(completed.value);
  return doc.is_object() &&
         completed_outcome(detail::status_of(doc)) == CompletedOutcome::kSucceeded;
}

// The records a finish with no attempts left (or a success) changes.
struct Finishing {
  const KeyValue& work;                 // the claimed work record, as read
  const std::optional<KeyValue>& done;  // its completion record, as read
  const std::string& completed_key;
  const std::string& archived;  // the archive name for the work record
  const std::string& record;    // the completion to write; empty: it exists already
};

// Adds the finishing writes to one transaction: the work record moves to `archived` (compared
// absent), the completion is put (unless it exists already), and a stale failed completion of
// an earlier attempt moves to archive/retried/ (kept, out of the way).
Status add_completion(etcd::Client& client, const std::string& prefix, const Finishing& f,
                      std::vector<Compare>& compares, std::vector<TxnOp>& ops) {
  const std::string archived_key = key_for_file(prefix, f.archived).value_or("");
  compares.push_back(Compare::absent(archived_key));
  compares.push_back(as_read(f.completed_key, f.done));
  ops.push_back(TxnOp::put(archived_key, f.work.value));
  ops.push_back(TxnOp::del(f.work.key));
  if (f.record.empty()) return Status::Ok();
  ops.push_back(TxnOp::put(f.completed_key, f.record));
  if (!f.done) return Status::Ok();
  const std::string completed_file = file_for_key(prefix, f.completed_key).value_or("");
  Result<std::string> retried =
      detail::free_archive_name(client, prefix, "retried", completed_file);
  if (!retried.ok()) return retried.status();
  const std::string retried_key = key_for_file(prefix, *retried).value_or("");
  compares.push_back(Compare::absent(retried_key));
  ops.push_back(TxnOp::put(retried_key, f.done->value));
  return Status::Ok();
}

}  // namespace

EtcdWorkQueue::EtcdWorkQueue(std::shared_ptr<etcd::Client> client, std::string prefix,
                             StoreConfig cfg, const Clock* clock)
    : client_(std::move(client)),
      prefix_(std::move(prefix)),
      cfg_(std::move(cfg)),
      clock_(clock != nullptr ? clock : &system_clock_),
      rng_(random_seed()) {}

std::string EtcdWorkQueue::key(std::string_view dir, std::string_view id) const {
  return etcd_dir_prefix(prefix_, dir) + std::string(id);
}

void EtcdWorkQueue::saw(std::int64_t revision) {
  last_revision_ = std::max(last_revision_, revision);
}

Result<std::string> EtcdWorkQueue::add(const NewWork& work) {
  if (Status s = detail::check_new_work(work); !s.ok()) return s;
  const TimePoint now = clock_->now();
  const std::string id = work.id.empty() ? detail::generate_id(now) : work.id;
  const std::string work_key = key(kEtcdWorkDir, id);
  const std::string completed_key = key(kEtcdCompletedDir, id);
  const std::string dead_key = key(kEtcdDeadDir, id);
  Result<etcd::TxnResult> r = client_->txn(
      {Compare::absent(work_key), Compare::absent(completed_key), Compare::absent(dead_key)},
      {TxnOp::put(work_key, dump_json(detail::new_work_record(id, work, now)))},
      {TxnOp::get(work_key), TxnOp::get(completed_key), TxnOp::get(dead_key)});
  if (!r.ok()) return r.status();
  saw(r->revision);
  if (!r->succeeded) {
    std::string where;
    const char* places[] = {"", " (completed)", " (dead)"};
    for (std::size_t i = 0; i < r->ranges.size() && i < 3 && where.empty(); ++i) {
      if (!r->ranges[i].kvs.empty()) where = places[i];
    }
    return Status(ErrorCode::kConflict,
                  fmt::format("work item \"{}\" already exists{}", id, where));
  }
  candidates_.clear();  // our own new item may outrank the cached candidates
  return id;
}

Status EtcdWorkQueue::refill() {
  std::int64_t revision = 0;
  Result<std::vector<KeyValue>> kvs =
      detail::range_all(*client_, etcd_dir_prefix(prefix_, kEtcdWorkDir), 0, &revision);
  if (!kvs.ok()) return kvs.status();
  saw(revision);
  std::vector<Candidate> found;
  for (KeyValue& kv : *kvs) {
    std::optional<std::string> file = file_for_key(prefix_, kv.key);
    if (!file || kind_of_file(*file) != RecordKind::kWork) continue;
    if (kv.value.size() > cfg_.max_file_size) continue;
    Result<WorkRecord> w = parse_work(*file, kv.value);
    if (!w.ok() || !detail::claimable(w->status)) continue;
    found.push_back({std::move(*file), std::move(kv.key), std::move(kv.value), kv.mod_revision,
                     w->priority, w->created});
  }
  detail::sort_queue_order(found);
  candidates_ = std::move(found);
  listed_at_ = clock_->steady_now();
  return Status::Ok();
}

Result<bool> EtcdWorkQueue::try_claim(Candidate& c, const std::string& agent_id, Seconds lease,
                                      std::optional<WorkItem>& out) {
  // Once with the listed value; once more when it changed since but may still be pending (a
  // release, an edit).
  for (int round = 0; round < 2; ++round) {
    if (c.value.size() > cfg_.max_file_size) return false;
    ojson doc = record_doc_or_discarded(c.value);
    if (doc.is_discarded() || !doc.is_object()) return false;
    if (!detail::claimable(detail::status_of(doc))) return false;
    detail::mark_claimed(doc, agent_id, clock_->now(), lease);
    std::string text = dump_json(doc);
    Result<etcd::TxnResult> r =
        client_->txn({Compare::mod_revision(c.key, Compare::Op::kEqual, c.mod_revision)},
                     {TxnOp::put(c.key, text)}, {TxnOp::get(c.key)});
    if (!r.ok()) return r.status();
    saw(r->revision);
    if (r->succeeded) {
      out = detail::work_item_from(c.file, json(doc));
      return true;
    }
    if (r->ranges.empty() || r->ranges[0].kvs.empty()) return false;  // gone
    c.value = std::move(r->ranges[0].kvs[0].value);
    c.mod_revision = r->ranges[0].kvs[0].mod_revision;
  }
  return false;
}

Result<std::optional<WorkItem>> EtcdWorkQueue::claim_from_cache(const std::string& agent_id,
                                                                Seconds lease) {
  std::optional<WorkItem> out;
  // Every lost race widens the window: with many agents the head of a cached list is mostly
  // taken already, and each failed transaction costs a consensus round in etcd.
  std::size_t spread = claim_spread_;
  while (!candidates_.empty()) {
    const std::size_t window = std::min(candidates_.size(), spread);
    const std::size_t pick = window > 1 ? rng_() % window : 0;
    Candidate c = std::move(candidates_[pick]);
    candidates_.erase(candidates_.begin() + static_cast<std::ptrdiff_t>(pick));
    Result<bool> r = try_claim(c, agent_id, lease, out);
    if (!r.ok()) return r.status();
    if (*r) return out;
    if (spread > 1) spread *= 2;
  }
  return std::optional<WorkItem>();
}

Result<std::optional<WorkItem>> EtcdWorkQueue::claim_next(const std::string& agent_id,
                                                          Seconds lease) {
  return detail::claim_next_from_cache(
      agent_id,
      [&] {
        return candidates_.empty() || clock_->steady_now() - listed_at_ >= candidate_max_age_;
      },
      [&] { return refill(); }, [&] { return claim_from_cache(agent_id, lease); });
}

Result<FinishOutcome> EtcdWorkQueue::finish(const WorkItem& claimed, const std::string& agent_id,
                                            const Completion& completion) {
  if (!detail::valid_record_id(claimed.id)) {
    return Status(ErrorCode::kInvalidArgument, fmt::format("invalid work id \"{}\"", claimed.id));
  }
  const std::string work_file = "work_" + claimed.id + ".json";
  const std::string work_key = key(kEtcdWorkDir, claimed.id);
  const std::string completed_key = key(kEtcdCompletedDir, claimed.id);
  const TimePoint now = clock_->now();
  std::string archived = fmt::format("archive/done/{}", work_file);  // free unless found taken
  for (int round = 0; round < kRounds; ++round) {
    Result<detail::KeysRead> read = detail::get_keys(*client_, {work_key, completed_key});
    if (!read.ok()) return read.status();
    saw(read->revision);
    const std::optional<KeyValue>& work = read->kvs[0];
    const std::optional<KeyValue>& done = read->kvs[1];
    if (!work) return detail::claim_lost(claimed.id, "no longer queued");
    Result<ojson> doc = parse_object(*work, work_file, cfg_.max_file_size);
    if (!doc.ok()) return doc.status();
    if (Status s = detail::check_claim(*doc, claimed, agent_id); !s.ok()) return s;
    const std::int64_t attempts = detail::int_or(*doc, "attempts", 0) + 1;
    const std::int64_t max_attempts = detail::int_or(*doc, "max_attempts", WorkItem{}.max_attempts);
    std::vector<Compare> compares = {unchanged(*work)};
    std::vector<TxnOp> ops;
    const bool retrying = !completion.success && attempts < max_attempts;
    const bool duplicate = !retrying && done && succeeded(*done);
    if (retrying) {
      detail::mark_retrying(*doc, attempts, completion);
      ops.push_back(TxnOp::put(work_key, dump_json(*doc)));
    } else {
      const std::string record =
          duplicate
              ? ""
              : dump_json(detail::completion_record(claimed.id, *doc, agent_id, completion, now));
      Status s = add_completion(*client_, prefix_, {*work, done, completed_key, archived, record},
                                compares, ops);
      if (!s.ok()) return s;
    }
    Result<etcd::TxnResult> r = client_->txn(compares, ops);
    if (!r.ok()) return r.status();
    saw(r->revision);
    if (r->succeeded) {
      if (retrying) return FinishOutcome::kRetrying;
      if (duplicate) {
        return detail::claim_lost(claimed.id,
                                  "it was already completed; the work file is archived");
      }
      return completion.success ? FinishOutcome::kCompleted : FinishOutcome::kFailed;
    }
    // Something changed: the claim (rechecked next round), the completion, or the archive name.
    Result<std::string> free = detail::free_archive_name(*client_, prefix_, "done", work_file);
    if (!free.ok()) return free.status();
    archived = std::move(free).value();
  }
  return busy(claimed.id);
}

Status EtcdWorkQueue::edit_claimed(const WorkItem& claimed, const std::string& agent_id,
                                   const std::function<void(ojson&)>& edit) {
  if (!detail::valid_record_id(claimed.id)) {
    return {ErrorCode::kInvalidArgument, fmt::format("invalid work id \"{}\"", claimed.id)};
  }
  const std::string work_key = key(kEtcdWorkDir, claimed.id);
  for (int round = 0; round < kRounds; ++round) {
    Result<detail::KeysRead> read = detail::get_keys(*client_, {work_key});
    if (!read.ok()) return read.status();
    saw(read->revision);
    const std::optional<KeyValue>& work = read->kvs[0];
    if (!work) return detail::claim_lost(claimed.id, "no longer queued");
    Result<ojson> doc = parse_object(*work, "work_" + claimed.id + ".json", cfg_.max_file_size);
    if (!doc.ok()) return doc.status();
    if (Status s = detail::check_claim(*doc, claimed, agent_id); !s.ok()) return s;
    edit(*doc);
    Result<etcd::TxnResult> r =
        client_->txn({unchanged(*work)}, {TxnOp::put(work_key, dump_json(*doc))});
    if (!r.ok()) return r.status();
    saw(r->revision);
    if (r->succeeded) return Status::Ok();
  }
  return busy(claimed.id);
}

Status EtcdWorkQueue::release(const WorkItem& claimed, const std::string& agent_id) {
  return edit_claimed(claimed, agent_id, [](ojson& doc) {
    detail::drop_claim(doc);
    doc["status"] = "pending";
  });
}

Status EtcdWorkQueue::note_processes(const WorkItem& claimed, const std::string& agent_id,
                                     const ClaimProcesses& processes) {
  return edit_claimed(claimed, agent_id, [&processes](ojson& doc) {
    doc["processes"] = detail::processes_json(processes);
  });
}

Status EtcdWorkQueue::heartbeat(const AgentState& agent) {
  if (!detail::valid_record_id(agent.id)) return detail::bad_id("agent", agent.id);
  Result<std::int64_t> r = client_->put(key(kEtcdAgentDir, agent.id),
                                        dump_json(detail::agent_record(agent, clock_->now())));
  if (!r.ok()) return r.status();
  saw(*r);
  return Status::Ok();
}

Status EtcdWorkQueue::record_telemetry(const std::string& id, const nlohmann::json& metrics) {
  if (!detail::valid_record_id(id)) return detail::bad_id("telemetry", id);
  if (!metrics.is_object()) return {ErrorCode::kInvalidArgument, "metrics must be a JSON object"};
  Result<std::int64_t> r = client_->put(
      key(kEtcdTelemetryDir, id), dump_json(detail::telemetry_record(id, metrics, clock_->now())));
  if (!r.ok()) return r.status();
  saw(*r);
  return Status::Ok();
}

Result<std::vector<WorkItem>> EtcdWorkQueue::list(const std::string& status) {
  const std::string want = detail::status_filter(status);
  std::int64_t revision = 0;
  Result<std::vector<KeyValue>> kvs =
      detail::range_all(*client_, etcd_dir_prefix(prefix_, kEtcdWorkDir), 0, &revision);
  if (!kvs.ok()) return kvs.status();
  saw(revision);
  std::vector<WorkItem> items;
  for (const KeyValue& kv : *kvs) {
    std::optional<std::string> file = file_for_key(prefix_, kv.key);
    if (!file || kind_of_file(*file) != RecordKind::kWork || file_name_problem(*file)) continue;
    if (kv.value.size() > cfg_.max_file_size) continue;
    if (auto w = detail::listed_item(*file, kv.value, want)) items.push_back(std::move(*w));
  }
  detail::sort_queue_order(items);
  return items;
}

Result<nlohmann::json> EtcdWorkQueue::show(const std::string& id) {
  if (!detail::valid_record_id(id)) return detail::bad_id("work", id);
  const std::array<detail::ItemPlace, 4> places = detail::item_places(id);
  std::vector<std::string> keys;
  keys.reserve(places.size());
  for (const detail::ItemPlace& place : places) keys.push_back(*key_for_file(prefix_, place.file));
  Result<detail::KeysRead> read = detail::get_keys(*client_, keys);
  if (!read.ok()) return read.status();
  saw(read->revision);
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (!read->kvs[i]) continue;
    Result<ojson> doc = parse_object(*read->kvs[i], places[i].file, cfg_.max_file_size);
    if (!doc.ok()) return doc.status();
    json out = json(*doc);
    out["location"] = places[i].location;
    return out;
  }
  return Status(ErrorCode::kNotFound,
                fmt::format("no work item \"{}\" in {}", id, etcd_dir_prefix(prefix_, "")));
}

}  // namespace dslmodel::store

// EtcdWorkQueue::requeue and wait_for_work (store/etcd_work_queue.h).
#include <fmt/format.h>

#include "core/json_text.h"
#include "core/records.h"
#include "etcd/client.h"
#include "store/etcd_keys.h"
#include "store/etcd_names.h"
#include "store/etcd_queue_util.h"
#include "store/etcd_work_queue.h"
#include "store/queue_rules.h"
#include "store/record_parse.h"
#include "store/work_item.h"

namespace dslmodel::store {

using detail::busy;
using detail::kRounds;
using detail::parse_object;
using detail::unchanged;

namespace {

// The transaction that puts the failed completion `done` of item `id` back in the queue: a new
// pending work record, the completion moved to archive/retried/.
Status requeue_failed(etcd::Client& client, const std::string& prefix, const std::string& id,
                      const KeyValue& done, std::size_t max_size, TimePoint now,
                      std::vector<Compare>& compares, std::vector<TxnOp>& ops) {
  const std::string completed = records::file_name(records::kCompletedPrefix, id);
  Result<ojson> doc = parse_object(done, completed, max_size);
  if (!doc.ok()) return doc.status();
  if (completed_outcome(detail::status_of(*doc)) != CompletedOutcome::kFailed) {
    return {ErrorCode::kInvalidArgument,
            fmt::format("work item \"{}\" completed successfully: nothing to requeue", id)};
  }
  if (!detail::has_payload(*doc)) {
    return {ErrorCode::kInvalidArgument,
            fmt::format("failed item \"{}\" has no command or prompt to run again", id)};
  }
  ojson item = detail::requeued_record(id, *doc, now);
  item["retry_of"] = completed;
  Result<std::string> retried = detail::free_archive_name(client, prefix, "retried", completed);
  if (!retried.ok()) return retried.status();
  const std::string work_key = *key_for_file(prefix, records::file_name(records::kWorkPrefix, id));
  const std::string retried_key = key_for_file(prefix, *retried).value_or("");
  compares = {unchanged(done), Compare::absent(work_key), Compare::absent(retried_key)};
  ops = {TxnOp::put(work_key, dump_json(item)), TxnOp::put(retried_key, done.value),
         TxnOp::del(done.key)};
  return Status::Ok();
}

}  // namespace

Status EtcdWorkQueue::requeue(const std::string& id) {
  if (!detail::valid_record_id(id)) return detail::bad_id("work", id);
  const std::string work_key = key(kEtcdWorkDir, id);
  const std::string completed = "completed_" + id + ".json";
  for (int round = 0; round < kRounds; ++round) {
    Result<detail::KeysRead> read =
        detail::get_keys(*client_, {work_key, key(kEtcdDeadDir, id), key(kEtcdCompletedDir, id)});
    if (!read.ok()) return read.status();
    saw(read->revision);
    const std::optional<KeyValue>& work = read->kvs[0];
    const std::optional<KeyValue>& dead = read->kvs[1];
    const std::optional<KeyValue>& done = read->kvs[2];
    std::vector<Compare> compares;
    std::vector<TxnOp> ops;
    const TimePoint now = clock_->now();
    if (work || dead) {
      const KeyValue& from = work ? *work : *dead;
      Result<ojson> doc = parse_object(from, work ? "work_" + id + ".json" : "dead_" + id + ".json",
                                       cfg_.max_file_size);
      if (!doc.ok()) return doc.status();
      const std::string status = detail::status_of(*doc);
      if (work && detail::is_claimed_status(status) && done) {
        return {
            ErrorCode::kConflict,
            fmt::format("work item \"{}\" already has {}: it is being finalized", id, completed)};
      }
      if (work && detail::is_pending_status(status) && detail::int_or(*doc, "attempts", 0) == 0) {
        return Status::Ok();
      }
      detail::make_pending(*doc, now);
      compares = {unchanged(from)};
      ops = {TxnOp::put(work_key, dump_json(*doc))};
      if (!work) {
        compares.push_back(Compare::absent(work_key));
        ops.push_back(TxnOp::del(from.key));
      }
    } else if (done) {
      Status s =
          requeue_failed(*client_, prefix_, id, *done, cfg_.max_file_size, now, compares, ops);
      if (!s.ok()) return s;
    } else {
      return {ErrorCode::kNotFound, fmt::format("no work item \"{}\" to requeue", id)};
    }
    Result<etcd::TxnResult> r = client_->txn(compares, ops);
    if (!r.ok()) return r.status();
    saw(r->revision);
    if (r->succeeded) {
      candidates_.clear();
      return Status::Ok();
    }
  }
  return busy(id);
}

void EtcdWorkQueue::wait_for_work(std::chrono::milliseconds max_wait, std::stop_token stop) {
  if (stop.stop_requested() || max_wait.count() <= 0) return;
  const auto start = std::chrono::steady_clock::now();
  const std::string from = etcd_dir_prefix(prefix_, kEtcdWorkDir);
  bool woken = false;
  Status s = client_->watch(
      from, etcd::prefix_end(from), last_revision_ > 0 ? last_revision_ + 1 : 0,
      [&](const std::vector<etcd::WatchEvent>& events) {
        for (const etcd::WatchEvent& e : events) {
          saw(e.kv.mod_revision);
          if (e.type != etcd::EventType::kPut) continue;
          std::optional<std::string> file = file_for_key(prefix_, e.kv.key);
          if (!file) continue;
          Result<WorkRecord> w = parse_work(*file, e.kv.value);
          if (w.ok() && detail::claimable(w->status)) woken = true;
        }
        return !woken;
      },
      max_wait, stop);
  if (woken) {
    candidates_.clear();  // list again: the new item may outrank the cached ones
    return;
  }
  if (s.ok()) return;
  const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  if (waited < max_wait) WorkQueue::wait_for_work(max_wait - waited, std::move(stop));
}

}  // namespace dslmodel::store

// The claim protocol of DirWorkQueue: claim_next, finish and release. Each step holds the item
// lock, re-reads the work file and checks its precondition before writing (see dir_work_queue.h).
#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <utility>

#include "core/json_text.h"
#include "dslmodel/time.h"
#include "platform/files.h"
#include "store/claim_processes.h"
#include "store/dir_repair.h"
#include "store/dir_work_queue.h"
#include "store/queue_rules.h"
#include "store/record_parse.h"
#include "store/work_item.h"

namespace dslmodel::store {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using ojson = nlohmann::ordered_json;

using detail::check_claim;
using detail::drop_claim;

Status lost(std::string_view id, std::string_view why) { return detail::claim_lost(id, why); }

}  // namespace

Status DirWorkQueue::refill() {
  std::vector<Candidate> found;
  Status s = detail::for_each_work_file(
      dir_, cfg_.max_file_size, buf_, [&](std::string_view name, std::string_view bytes) {
        Result<WorkRecord> w = parse_work(name, bytes);
        if (!w.ok() || !detail::claimable(w->status)) return;
        found.push_back(
            {std::string(id_from_file_name(name)), std::move(w->file), w->priority, w->created});
      });
  if (!s.ok()) return s;
  detail::sort_queue_order(found);
  candidates_ = std::move(found);
  next_ = 0;
  listed_at_ = clock_->steady_now();
  return Status::Ok();
}

Result<DirWorkQueue::TryResult> DirWorkQueue::try_claim(const Candidate& c, bool wait,
                                                        const std::string& agent_id, Seconds lease,
                                                        std::optional<WorkItem>& out) {
  Result<detail::ItemLocks::Guard> guard = wait ? locks_.lock(c.id) : locks_.try_lock(c.id);
  if (!guard.ok()) {
    if (guard.status().code() == ErrorCode::kConflict) return TryResult::kBusy;
    return guard.status();
  }
  Result<detail::LoadedRecord> rec = detail::load_record(dir_ / c.file, cfg_.max_file_size);
  if (!rec.ok()) return TryResult::kTaken;  // gone, or no longer a valid record
  ojson& doc = rec->doc;
  if (!detail::claimable(detail::status_of(doc))) return TryResult::kTaken;
  detail::mark_claimed(doc, agent_id, clock_->now(), lease);
  // Data synced, directory not: a claim lost in a host crash leaves the item pending, which is
  // what the engine would make of the dead agent's claim anyway. (A journaling file system
  // commits renames in order, so the completion's directory fsync makes the claim durable too.)
  Status s = detail::write_replace(dir_ / c.file, dump_json(doc), detail::Sync::kData);
  if (!s.ok()) return s;
  out = detail::work_item_from(c.file, json(doc));
  return TryResult::kClaimed;
}

Result<std::optional<WorkItem>> DirWorkQueue::claim_from_cache(const std::string& agent_id,
                                                               Seconds lease) {
  // Items another claimer holds the lock of are tried last, then waited for.
  std::vector<Candidate> busy;
  std::optional<WorkItem> out;
  while (next_ < candidates_.size()) {
    const Candidate& c = candidates_[next_++];
    Result<TryResult> r = try_claim(c, /*wait=*/false, agent_id, lease, out);
    if (!r.ok()) return r.status();
    if (*r == TryResult::kClaimed) return out;
    if (*r == TryResult::kBusy) busy.push_back(c);
  }
  for (const Candidate& c : busy) {
    Result<TryResult> r = try_claim(c, /*wait=*/true, agent_id, lease, out);
    if (!r.ok()) return r.status();
    if (*r == TryResult::kClaimed) return out;
  }
  return std::optional<WorkItem>();
}

Result<std::optional<WorkItem>> DirWorkQueue::claim_next(const std::string& agent_id,
                                                         Seconds lease) {
  return detail::claim_next_from_cache(
      agent_id,
      [&] {
        return next_ >= candidates_.size() ||
               clock_->steady_now() - listed_at_ >= candidate_max_age_;
      },
      [&] { return refill(); }, [&] { return claim_from_cache(agent_id, lease); });
}

Status DirWorkQueue::write_completion(const std::string& id, const std::string& text,
                                      bool& duplicate) {
  duplicate = false;
  const std::string name = "completed_" + id + ".json";
  for (int round = 0; round < 2; ++round) {
    Status s = platform::atomic_create_file(dir_ / name, text);
    if (s.code() != ErrorCode::kConflict) return s;
    Result<detail::LoadedRecord> prior = detail::load_record(dir_ / name, cfg_.max_file_size);
    if (prior.ok() &&
        completed_outcome(detail::status_of(prior->doc)) == CompletedOutcome::kSucceeded) {
      duplicate = true;  // the item already ran to success: never a second completion
      return Status::Ok();
    }
    // A failure left by an interrupted retry (or an unreadable record): keep it, out of the way.
    Result<std::string> moved =
        detail::move_to_archive_subdir({dir_, cfg_, *clock_}, name, "retried");
    if (!moved.ok() && moved.status().code() != ErrorCode::kNotFound) return moved.status();
  }
  return {ErrorCode::kConflict, name + ": keeps reappearing"};
}

// Not fsynced: the completion is durable already, and a move lost in a crash leaves a claimed work
// file beside its completion, which the engine finalizes.
Status DirWorkQueue::finalize_work(const std::string& id) {
  Result<std::string> moved = detail::move_to_archive_subdir(
      {dir_, cfg_, *clock_}, "work_" + id + ".json", "done", /*durable=*/false);
  return moved.ok() ? Status::Ok() : moved.status();
}

Result<DirWorkQueue::ClaimedRecord> DirWorkQueue::load_claimed(const WorkItem& claimed,
                                                               const std::string& agent_id) {
  if (!detail::valid_record_id(claimed.id)) {
    return Status(ErrorCode::kInvalidArgument, fmt::format("invalid work id \"{}\"", claimed.id));
  }
  Result<detail::ItemLocks::Guard> guard = locks_.lock(claimed.id);
  if (!guard.ok()) return guard.status();
  std::string work = "work_" + claimed.id + ".json";
  Result<detail::LoadedRecord> rec = detail::load_record(dir_ / work, cfg_.max_file_size);
  if (!rec.ok()) {
    if (rec.status().code() == ErrorCode::kNotFound) return lost(claimed.id, "no longer queued");
    return rec.status();
  }
  if (Status s = check_claim(rec->doc, claimed, agent_id); !s.ok()) return s;
  return ClaimedRecord{std::move(*guard), std::move(work), std::move(*rec)};
}

Result<FinishOutcome> DirWorkQueue::finish(const WorkItem& claimed, const std::string& agent_id,
                                           const Completion& completion) {
  Result<ClaimedRecord> held = load_claimed(claimed, agent_id);
  if (!held.ok()) return held.status();
  const std::string& work = held->work;
  ojson& doc = held->rec.doc;
  const TimePoint now = clock_->now();
  const std::int64_t attempts = detail::int_or(doc, "attempts", 0) + 1;
  const std::int64_t max_attempts = detail::int_or(doc, "max_attempts", WorkItem{}.max_attempts);

  if (!completion.success && attempts < max_attempts) {
    detail::mark_retrying(doc, attempts, completion);
    if (Status s = platform::atomic_write_file(dir_ / work, dump_json(doc)); !s.ok()) return s;
    return FinishOutcome::kRetrying;
  }
  ojson record = detail::completion_record(claimed.id, doc, agent_id, completion, now);
  bool duplicate = false;
  if (Status s = write_completion(claimed.id, dump_json(record), duplicate); !s.ok()) return s;
  // The completion is durable from here: a failed move leaves a claimed work file beside it,
  // which the engine finalizes (RepairOp::kFinalize).
  (void)finalize_work(claimed.id);
  if (duplicate) return lost(claimed.id, "it was already completed; the work file is archived");
  return completion.success ? FinishOutcome::kCompleted : FinishOutcome::kFailed;
}

Status DirWorkQueue::edit_claimed(const WorkItem& claimed, const std::string& agent_id,
                                  const std::function<void(ojson&)>& edit, bool durable) {
  Result<ClaimedRecord> held = load_claimed(claimed, agent_id);
  if (!held.ok()) return held.status();
  const std::string& work = held->work;
  ojson& doc = held->rec.doc;
  edit(doc);
  if (durable) return platform::atomic_write_file(dir_ / work, dump_json(doc));
  return detail::write_replace(dir_ / work, dump_json(doc), detail::Sync::kNone);
}

Status DirWorkQueue::release(const WorkItem& claimed, const std::string& agent_id) {
  return edit_claimed(
      claimed, agent_id,
      [](ojson& doc) {
        drop_claim(doc);
        doc["status"] = "pending";
      },
      /*durable=*/true);
}

Status DirWorkQueue::note_processes(const WorkItem& claimed, const std::string& agent_id,
                                    const ClaimProcesses& processes) {
  // Not synced: a host crash that loses this note ends the processes it names as well.
  return edit_claimed(
      claimed, agent_id,
      [&processes](ojson& doc) { doc["processes"] = detail::processes_json(processes); },
      /*durable=*/false);
}

}  // namespace dslmodel::store

// apply(): each action re-reads its record, asks the plan layer (store/repair_plan.h) whether it
// applies and what to write, and changes the directory with atomic writes and renames, holding the
// item lock of the record's id (store/item_lock.h) so that it never interleaves with an agent's
// claim, finish or release of the same item. Records are rewritten with their fields in their
// original order.
#include "store/dir_repair.h"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>

#include "core/json_text.h"
#include "core/records.h"
#include "dslmodel/time.h"
#include "platform/files.h"
#include "store/archive_totals.h"
#include "store/claim_processes.h"
#include "store/item_lock.h"
#include "store/record_parse.h"
#include "store/repair_plan.h"

namespace dslmodel::store::detail {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

// What one action did: applied with an inverse element, or skipped with a note.
struct Step {
  std::optional<json> inverse;
  std::string note;
};

Step skip(const RepairAction& a, std::string_view why) {
  return {std::nullopt, plan::skip_note(a, why)};
}

// The record `name` as the plan layer reads it, or why it cannot be used ("gone", ...).
Result<plan::Read> load(const RepairContext& ctx, const std::string& name) {
  Result<std::string> text = platform::read_file_limited(ctx.dir / name, ctx.cfg.max_file_size);
  if (!text.ok()) {
    if (text.status().code() == ErrorCode::kNotFound) return Status(ErrorCode::kNotFound, "gone");
    return text.status();
  }
  return plan::read_of(std::move(text).value());
}

Step requeue(const RepairContext& ctx, const RepairAction& a) {
  Result<plan::Read> rec = load(ctx, a.file);
  if (!rec.ok()) return skip(a, rec.status().message());
  plan::Edit edit = plan::requeue(a, *rec, requeue_wait, ctx.clock.now());
  if (edit.skip) return skip(a, *edit.skip);
  if (Status s = platform::atomic_write_file(ctx.dir / a.file, edit.text); !s.ok()) {
    return skip(a, s.message());
  }
  return {plan::restore_step(a.file, rec->text, edit.text), ""};
}

// The move is the precondition "dead_<id> absent" (rename-noreplace); the record is re-read
// after it: an agent may have rewritten the item since the first read, and no agent touches dead
// records.
Step dead_letter(const RepairContext& ctx, const RepairAction& a) {
  Result<plan::Read> rec = load(ctx, a.file);
  if (!rec.ok()) return skip(a, rec.status().message());
  if (auto why = plan::dead_letter_problem(*rec)) return skip(a, *why);
  const std::string dead = plan::sibling(records::kDeadPrefix, a.file);
  if (Status s = platform::durable_rename_noreplace(ctx.dir / a.file, ctx.dir / dead); !s.ok()) {
    return skip(a, s.code() == ErrorCode::kConflict ? plan::exists(dead) : s.message());
  }
  Result<plan::Read> moved = load(ctx, dead);
  const plan::Read prior = moved.ok() ? std::move(moved).value() : std::move(rec).value();
  json inverse = plan::undead_step(a.file, dead, prior.text);
  Status s =
      platform::atomic_write_file(ctx.dir / dead, plan::dead_record(a, prior, ctx.clock.now()));
  if (!s.ok()) {
    return {inverse,
            fmt::format("dead_letter {}: moved, but not marked dead: {}", a.file, s.message())};
  }
  return {inverse, ""};
}

Step retry_failed(const RepairContext& ctx, const RepairAction& a) {
  Result<plan::Read> rec = load(ctx, a.file);
  if (!rec.ok()) return skip(a, rec.status().message());
  plan::Edit edit = plan::retry(a, *rec, ctx.clock.now());
  if (edit.skip) return skip(a, *edit.skip);
  const std::string work = plan::sibling(records::kWorkPrefix, a.file);
  if (Status s = platform::atomic_create_file(ctx.dir / work, edit.text); !s.ok()) {
    return skip(a, s.code() == ErrorCode::kConflict ? plan::exists(work) : s.message());
  }
  Result<std::string> archived = move_to_archive_subdir(ctx, a.file, "retried");
  if (!archived.ok()) {
    return {plan::unretry_step(a.file, "", work, edit.text),
            fmt::format("retry_failed {}: queued, but not moved: {}", a.file,
                        archived.status().message())};
  }
  return {plan::unretry_step(a.file, *archived, work, edit.text), ""};
}

// A claimed item whose completion exists: its agent died after writing completed_<id>.json and
// before moving the work file away. The work file moves to archive/done/.
Step finalize(const RepairContext& ctx, const RepairAction& a) {
  Result<plan::Read> rec = load(ctx, a.file);
  if (!rec.ok()) return skip(a, rec.status().message());
  const std::string completed = plan::sibling(records::kCompletedPrefix, a.file);
  if (auto why = plan::finalize_problem(a, *rec, completed, load(ctx, completed))) {
    return skip(a, *why);
  }
  Result<std::string> moved = move_to_archive_subdir(ctx, a.file, "done");
  if (!moved.ok()) return skip(a, moved.status().message());
  return {plan::unfinalize_step(a.file, *moved), ""};
}

// One apply() call's archive batch, opened at its first archive action. Holds the exclusive
// archive lock until finish().
class ArchiveBatch {
 public:
  explicit ArchiveBatch(const RepairContext& ctx) : ctx_(ctx) {}

  Step archive(const RepairAction& a) {
    if (Status s = open(); !s.ok()) return skip(a, s.message());
    Result<std::string> text =
        platform::read_file_limited(ctx_.dir / a.file, ctx_.cfg.max_file_size);
    if (!text.ok()) {
      return skip(a,
                  text.status().code() == ErrorCode::kNotFound ? "gone" : text.status().message());
    }
    Result<ArchivedTotals> add = plan::archived_counts(a.file, *text);
    if (!add.ok()) return skip(a, add.status().message());
    Status moved = rename_noreplace(ctx_.dir / a.file, batch_dir() / a.file);
    if (!moved.ok()) return skip(a, moved.message());
    plan::add_totals(counts_, *add);
    ++moved_;
    return {plan::unarchive_batch_step(batch_, a.file), ""};
  }

  // Makes the moves durable and caches the batch's counts. Returns a note on failure.
  std::string finish() {
    if (!lock_) return "";
    if (moved_ == 0) {
      ::rmdir(batch_dir().c_str());  // our own empty directory, no record in it
      return "";
    }
    Status s = platform::fsync_directory(batch_dir());
    if (s.ok()) s = platform::fsync_directory(ctx_.dir);
    if (s.ok()) s = cache_put_batch(ctx_.dir, batch_, &counts_);
    return s.ok() ? "" : "archive totals not cached (recounted on next read): " + s.message();
  }

 private:
  fs::path batch_dir() const { return ctx_.dir / kArchiveDir / batch_; }

  Status open() {
    if (lock_) return Status::Ok();
    Result<ArchiveLock> lock = ArchiveLock::exclusive(ctx_.dir, /*try_only=*/false);
    if (!lock.ok()) return lock.status();
    std::error_code ec;
    fs::create_directories(ctx_.dir / kArchiveDir, ec);
    std::string base =
        fmt::format("{}{}-{}", kBatchPrefix, unix_millis(ctx_.clock.now()), ::getpid());
    for (int n = 0; n < 1000; ++n) {
      batch_ = n == 0 ? base : fmt::format("{}-{}", base, n);
      if (::mkdir(batch_dir().c_str(), 0755) == 0) {
        lock_.emplace(std::move(lock).value());
        return Status::Ok();
      }
      if (errno != EEXIST) break;
    }
    return Status(ErrorCode::kIo,
                  fmt::format("{}: {}", batch_dir().string(), std::strerror(errno)));
  }

  const RepairContext& ctx_;
  std::optional<ArchiveLock> lock_;
  std::string batch_;
  ArchivedTotals counts_;
  int moved_ = 0;
};

// Requeue, dead-letter, retry and finalize, each under the item lock of the record's id.
Step apply_item_action(const RepairContext& ctx, ItemLocks& locks, const RepairAction& a) {
  Result<ItemLocks::Guard> guard = locks.lock(id_from_file_name(a.file));
  if (!guard.ok()) return skip(a, guard.status().message());
  switch (a.op) {
    case RepairOp::kRequeue:
      return requeue(ctx, a);
    case RepairOp::kDeadLetter:
      return dead_letter(ctx, a);
    case RepairOp::kRetryFailed:
      return retry_failed(ctx, a);
    case RepairOp::kFinalize:
      return finalize(ctx, a);
    case RepairOp::kArchive:
      break;
  }
  return skip(a, "not an item repair");
}

// Temp files that interrupted writes left (platform/files.h): removed once older than
// stale_temp_age, and listed in the outcome.
void sweep_stale_temp_files(const RepairContext& ctx, RepairOutcome& out) {
  auto removed =
      platform::remove_stale_temp_files(ctx.dir, ctx.clock.now(), ctx.cfg.stale_temp_age);
  if (!removed.ok()) {
    out.notes.push_back("stale temp files not removed: " + removed.status().message());
    return;
  }
  for (const std::string& name : *removed) {
    out.notes.push_back(
        fmt::format("removed stale temp file {} (an interrupted write, older than {}s)", name,
                    ctx.cfg.stale_temp_age.count()));
  }
  out.removed_temp_files = static_cast<int>(removed->size());
}

}  // namespace

Result<std::string> move_to_archive_subdir(const RepairContext& ctx, const std::string& file,
                                           std::string_view subdir, bool durable) {
  std::string rel_dir = fmt::format("{}/{}", kArchiveDir, subdir);
  std::error_code ec;
  fs::create_directories(ctx.dir / rel_dir, ec);
  std::string stem = file.size() > 5 ? file.substr(0, file.size() - 5) : file;
  for (int n = 0; n < 1000; ++n) {
    std::string rel = n == 0 ? fmt::format("{}/{}", rel_dir, file)
                             : fmt::format("{}/{}.{}.json", rel_dir, stem, n);
    Status s = durable ? platform::durable_rename_noreplace(ctx.dir / file, ctx.dir / rel)
                       : rename_noreplace(ctx.dir / file, ctx.dir / rel);
    if (s.ok()) return rel;
    if (s.code() != ErrorCode::kConflict) return s;
  }
  return Status(ErrorCode::kConflict, "no free name under " + rel_dir);
}

Result<RepairOutcome> apply_repairs(const RepairContext& ctx,
                                    const std::vector<RepairAction>& actions) {
  std::error_code ec;
  if (!fs::is_directory(ctx.dir, ec)) {
    return Status(ErrorCode::kNotFound,
                  fmt::format("coordination directory not found: {}", ctx.dir.string()));
  }
  RepairOutcome out;
  ArchiveBatch batch(ctx);
  ItemLocks locks(ctx.dir);
  for (const RepairAction& a : actions) {
    Step step;
    if (auto why = plan::target_problem(a, is_plain_name(a.file))) {
      step = skip(a, *why);
    } else if (a.op == RepairOp::kArchive) {
      step = batch.archive(a);
    } else {
      step = apply_item_action(ctx, locks, a);
    }
    if (step.inverse) {
      ++out.applied;
      out.inverse.push_back(std::move(*step.inverse));
    } else {
      ++out.skipped;
    }
    if (!step.note.empty()) out.notes.push_back(std::move(step.note));
  }
  if (std::string note = batch.finish(); !note.empty()) out.notes.push_back(std::move(note));
  sweep_stale_temp_files(ctx, out);
  return out;
}

}  // namespace dslmodel::store::detail

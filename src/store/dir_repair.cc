// apply(): each action re-reads its record, checks its precondition and changes the directory with
// atomic writes and renames, holding the item lock of the record's id (store/item_lock.h) so that
// it never interleaves with an agent's claim, finish or release of the same item. Records are
// rewritten with their fields in their original order.
#include "store/dir_repair.h"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>

#include "core/json_text.h"
#include "dslmodel/time.h"
#include "platform/files.h"
#include "store/archive_totals.h"
#include "store/claim_processes.h"
#include "store/item_lock.h"
#include "store/record_parse.h"

namespace dslmodel::store::detail {
namespace {

namespace fs = std::filesystem;
using ojson = nlohmann::ordered_json;
using json = nlohmann::json;

// What one action did: applied with an inverse element, or skipped with a note.
struct Step {
  std::optional<json> inverse;
  std::string note;
};

Step skip(const RepairAction& a, std::string_view why) {
  return {std::nullopt, fmt::format("{} {}: skipped: {}", to_string(a.op), a.file, why)};
}

// A record's text and its JSON object, or the reason it cannot be used.
struct Loaded {
  std::string text;
  ojson doc;
};

Result<Loaded> load(const RepairContext& ctx, const std::string& name) {
  Result<std::string> text = platform::read_file_limited(ctx.dir / name, ctx.cfg.max_file_size);
  if (!text.ok()) {
    if (text.status().code() == ErrorCode::kNotFound) return Status(ErrorCode::kNotFound, "gone");
    return text.status();
  }
  ojson doc = record_doc_or_discarded(*text);
  if (doc.is_discarded()) return Status(ErrorCode::kCorrupt, "not a JSON object");
  return Loaded{std::move(text).value(), std::move(doc)};
}

Step requeue(const RepairContext& ctx, const RepairAction& a) {
  Result<Loaded> rec = load(ctx, a.file);
  if (!rec.ok()) return skip(a, rec.status().message());
  ojson& doc = rec->doc;
  if (auto why = repair_claim_blocker(doc, a.expect_claimed_by)) return skip(a, *why);
  if (auto why = requeue_wait(doc)) return skip(a, "postponed: " + *why);
  mark_requeued(doc, a.reason, ctx.clock.now());
  std::string out = dump_json(doc);
  if (Status s = platform::atomic_write_file(ctx.dir / a.file, out); !s.ok()) {
    return skip(a, s.message());
  }
  return {json{{"op", "restore"}, {"file", a.file}, {"content", rec->text}, {"applied", out}}, ""};
}

Step dead_letter(const RepairContext& ctx, const RepairAction& a) {
  Result<Loaded> rec = load(ctx, a.file);
  if (!rec.ok()) return skip(a, rec.status().message());
  if (is_finished_status(status_of(rec->doc))) {
    return skip(a, fmt::format("status is now \"{}\"", status_of(rec->doc)));
  }
  std::string dead = "dead_" + std::string(id_from_file_name(a.file)) + ".json";
  if (Status s = platform::durable_rename_noreplace(ctx.dir / a.file, ctx.dir / dead); !s.ok()) {
    return skip(a, s.code() == ErrorCode::kConflict ? dead + " exists" : s.message());
  }
  // Re-read after the rename: an agent may have rewritten the item since the first read, and no
  // agent touches dead_ files.
  Result<Loaded> moved = load(ctx, dead);
  Loaded prior = moved.ok() ? std::move(moved).value() : std::move(rec).value();
  ojson doc = prior.doc;
  mark_dead(doc, a.reason, ctx.clock.now());
  if (Status s = platform::atomic_write_file(ctx.dir / dead, dump_json(doc)); !s.ok()) {
    return {json{{"op", "undead"}, {"file", a.file}, {"dead_file", dead}, {"content", prior.text}},
            fmt::format("dead_letter {}: moved, but not marked dead: {}", a.file, s.message())};
  }
  return {json{{"op", "undead"}, {"file", a.file}, {"dead_file", dead}, {"content", prior.text}},
          ""};
}

Step retry_failed(const RepairContext& ctx, const RepairAction& a) {
  Result<Loaded> rec = load(ctx, a.file);
  if (!rec.ok()) return skip(a, rec.status().message());
  Result<CompletedRecord> parsed = parse_completed(a.file, rec->text);
  if (!parsed.ok() || !parsed->retryable) return skip(a, "not a retryable failure");
  std::string work = "work_" + std::string(id_from_file_name(a.file)) + ".json";
  std::string content = dump_json(retry_item(a.file, rec->doc, ctx.clock.now()));
  if (Status s = platform::atomic_create_file(ctx.dir / work, content); !s.ok()) {
    return skip(a, s.code() == ErrorCode::kConflict ? work + " exists" : s.message());
  }
  json inverse = {{"op", "unretry"},
                  {"file", a.file},
                  {"archived", nullptr},
                  {"work_file", work},
                  {"work_content", content}};
  Result<std::string> archived = move_to_archive_subdir(ctx, a.file, "retried");
  if (!archived.ok()) {
    return {inverse, fmt::format("retry_failed {}: queued, but not moved: {}", a.file,
                                 archived.status().message())};
  }
  inverse["archived"] = *archived;
  return {inverse, ""};
}

// A claimed item whose completion exists: its agent died after writing completed_<id>.json and
// before moving the work file away. The work file moves to archive/done/. Skipped when the
// completion is a failure by another agent than the holder (a stale record of an earlier attempt:
// the holder's own finish replaces it).
Step finalize(const RepairContext& ctx, const RepairAction& a) {
  Result<Loaded> rec = load(ctx, a.file);
  if (!rec.ok()) return skip(a, rec.status().message());
  if (auto why = repair_claim_blocker(rec->doc, a.expect_claimed_by)) return skip(a, *why);
  const std::string claimed_by = str_or_empty(rec->doc, "claimed_by");
  std::string completed = "completed_" + std::string(id_from_file_name(a.file)) + ".json";
  Result<Loaded> done = load(ctx, completed);
  if (!done.ok()) return skip(a, completed + ": " + done.status().message());
  if (auto why = finalize_blocker(done->doc, completed, claimed_by)) return skip(a, *why);
  Result<std::string> moved = move_to_archive_subdir(ctx, a.file, "done");
  if (!moved.ok()) return skip(a, moved.status().message());
  return {json{{"op", "unfinalize"}, {"file", a.file}, {"archived", *moved}}, ""};
}

// One apply() call's archive batch, opened at its first archive action. Holds the exclusive
// archive lock until finish().
class ArchiveBatch {
 public:
  explicit ArchiveBatch(const RepairContext& ctx) : ctx_(ctx) {}

  Step archive(const RepairAction& a) {
    std::optional<RecordKind> kind = kind_of_file(a.file);
    if (kind != RecordKind::kCompleted && kind != RecordKind::kTelemetry) {
      return skip(a, "not a completed or telemetry file");
    }
    if (Status s = open(); !s.ok()) return skip(a, s.message());
    Result<std::string> text =
        platform::read_file_limited(ctx_.dir / a.file, ctx_.cfg.max_file_size);
    if (!text.ok())
      return skip(a,
                  text.status().code() == ErrorCode::kNotFound ? "gone" : text.status().message());
    ArchivedTotals add;
    if (kind == RecordKind::kTelemetry) {
      auto r = parse_telemetry(a.file, *text);
      if (!r.ok()) return skip(a, r.status().message());
      add.telemetry = r->count;
    } else {
      auto r = parse_completed(a.file, *text);
      if (!r.ok()) return skip(a, r.status().message());
      Outcome o = completed_outcome(r->status);
      add.succeeded = o == Outcome::kSucceeded ? 1 : 0;
      add.failed = o == Outcome::kFailed ? 1 : 0;
    }
    Status moved = rename_noreplace(ctx_.dir / a.file, batch_dir() / a.file);
    if (!moved.ok()) return skip(a, moved.message());
    counts_.succeeded += add.succeeded;
    counts_.failed += add.failed;
    counts_.telemetry += add.telemetry;
    ++moved_;
    return {json{{"op", "unarchive"}, {"batch", batch_}, {"files", json::array({a.file})}}, ""};
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
Step apply_item_action(const RepairContext& ctx, ItemLocks& locks, const RepairAction& a,
                       RecordKind kind) {
  const bool on_work = a.op != RepairOp::kRetryFailed;
  if (on_work && kind != RecordKind::kWork) return skip(a, "not a work file");
  if (!on_work && kind != RecordKind::kCompleted) return skip(a, "not a completed file");
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
    std::optional<RecordKind> kind = kind_of_file(a.file);
    if (!is_plain_name(a.file) || !kind) {
      step = skip(a, "not a record file name");
    } else if (a.op == RepairOp::kArchive) {
      step = batch.archive(a);
    } else {
      step = apply_item_action(ctx, locks, a, *kind);
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

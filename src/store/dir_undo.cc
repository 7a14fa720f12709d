// undo(): replays inverse elements newest first. Every step first looks at the current state, so
// replaying an inverse twice, or after a crash half way, is safe. Steps on one item hold its item
// lock, like apply().
#include <fcntl.h>
#include <fmt/format.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>

#include "core/json_text.h"
#include "platform/files.h"
#include "store/archive_totals.h"
#include "store/dir_repair.h"
#include "store/item_lock.h"
#include "store/record_parse.h"
#include "store/repair_plan.h"

namespace dslmodel::store::detail {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

bool path_exists(const fs::path& p) {
  struct stat st {};
  return ::lstat(p.c_str(), &st) == 0;
}

Status conflict(std::string problem) { return {ErrorCode::kConflict, std::move(problem)}; }

Status bad_step(std::string_view op) { return {ErrorCode::kInvalidArgument, plan::bad_step(op)}; }

// The file's content; nullopt when it does not exist.
Result<std::optional<std::string>> read_if_exists(const RepairContext& ctx, const fs::path& rel) {
  Result<std::string> text = platform::read_file_limited(ctx.dir / rel, ctx.cfg.max_file_size);
  if (text.ok()) return std::optional<std::string>(std::move(text).value());
  if (text.status().code() == ErrorCode::kNotFound) return std::optional<std::string>();
  return text.status();
}

Status undo_restore(const RepairContext& ctx, const plan::Step& st) {
  if (!is_plain_name(st.file)) return bad_step("restore");
  Result<std::optional<std::string>> cur = read_if_exists(ctx, st.file);
  if (!cur.ok()) return cur.status();
  plan::UndoChoice c = plan::undo_restore(st, *cur);
  if (c.what == plan::Undo::kConflict) return conflict(std::move(c.problem));
  if (c.what == plan::Undo::kNothing) return Status::Ok();
  return platform::atomic_write_file(ctx.dir / st.file, st.content);
}

// Moves `from` back to `file` when the plan says so.
Status move_back(const RepairContext& ctx, const std::string& file, const std::string& from) {
  plan::UndoChoice c =
      plan::undo_move_back(file, from, path_exists(ctx.dir / file), path_exists(ctx.dir / from));
  if (c.what == plan::Undo::kConflict) return conflict(std::move(c.problem));
  if (c.what == plan::Undo::kNothing) return Status::Ok();
  return platform::durable_rename_noreplace(ctx.dir / from, ctx.dir / file);
}

Status undo_undead(const RepairContext& ctx, const plan::Step& st) {
  if (!is_plain_name(st.file) || !is_plain_name(st.dead_file)) return bad_step("undead");
  if (Status s = move_back(ctx, st.file, st.dead_file); !s.ok()) return s;
  Result<std::optional<std::string>> cur = read_if_exists(ctx, st.file);
  if (!cur.ok()) return cur.status();
  if (!cur->has_value()) return conflict(fmt::format("{}: gone, not restored", st.file));
  // Still the dead-marked text: put the prior content back. Otherwise this step was done before.
  if (plan::still_dead(**cur)) return platform::atomic_write_file(ctx.dir / st.file, st.content);
  return Status::Ok();
}

Status undo_unretry(const RepairContext& ctx, const plan::Step& st) {
  if (!is_plain_name(st.file) || !is_plain_name(st.work_file) ||
      st.archived.find("..") != std::string::npos) {
    return bad_step("unretry");
  }
  // Take the queued retry back first, unless an agent has picked it up meanwhile.
  Result<std::optional<std::string>> cur = read_if_exists(ctx, st.work_file);
  if (!cur.ok()) return cur.status();
  plan::UndoChoice c = plan::undo_retry_item(st, *cur);
  if (c.what == plan::Undo::kConflict) return conflict(std::move(c.problem));
  if (c.what == plan::Undo::kWrite) {
    Result<std::string> moved = move_to_archive_subdir(ctx, st.work_file, "undone");
    if (!moved.ok()) return moved.status();
  }
  if (plan::retry_record_back(st, path_exists(ctx.dir / st.archived),
                              path_exists(ctx.dir / st.file))) {
    return platform::durable_rename_noreplace(ctx.dir / st.archived, ctx.dir / st.file);
  }
  return Status::Ok();
}

Status undo_unfinalize(const RepairContext& ctx, const plan::Step& st) {
  if (!is_plain_name(st.file) || !st.archived.starts_with("archive/done/") ||
      st.archived.find("..") != std::string::npos) {
    return bad_step("unfinalize");
  }
  return move_back(ctx, st.file, st.archived);
}

// Runs one item step under the item lock of its "file".
Status undo_item_step(const RepairContext& ctx, ItemLocks& locks, const plan::Step& st) {
  std::optional<ItemLocks::Guard> guard;
  if (is_plain_name(st.file) && kind_of_file(st.file)) {
    Result<ItemLocks::Guard> g = locks.lock(id_from_file_name(st.file));
    if (!g.ok()) return g.status();
    guard.emplace(std::move(g).value());
  }
  return st.op == "restore"   ? undo_restore(ctx, st)
         : st.op == "undead"  ? undo_undead(ctx, st)
         : st.op == "unretry" ? undo_unretry(ctx, st)
         : st.op == "unfinalize"
             ? undo_unfinalize(ctx, st)
             : Status(ErrorCode::kInvalidArgument, "unknown op \"" + st.op + "\"");
}

// Moves `files` of one batch back to the top level, then recounts the batch for the cache.
Status undo_unarchive(const RepairContext& ctx, const std::string& batch,
                      const std::vector<std::string>& files) {
  if (!is_plain_name(batch) || !batch.starts_with(kBatchPrefix)) {
    return {ErrorCode::kInvalidArgument, "unarchive: bad batch name"};
  }
  fs::path batch_dir = ctx.dir / kArchiveDir / batch;
  if (!path_exists(batch_dir)) return conflict(fmt::format("{}: batch directory gone", batch));
  Result<ArchiveLock> lock = ArchiveLock::exclusive(ctx.dir, /*try_only=*/false);
  if (!lock.ok()) return lock.status();
  if (Status s = cache_put_batch(ctx.dir, batch, nullptr); !s.ok()) return s;
  Status result;
  for (const std::string& f : files) {
    if (!is_plain_name(f) || !path_exists(batch_dir / f)) continue;
    Status s = rename_noreplace(batch_dir / f, ctx.dir / f);
    if (!s.ok() && result.ok()) result = s;
  }
  Status synced = platform::fsync_directory(ctx.dir);
  if (synced.ok()) synced = platform::fsync_directory(batch_dir);
  if (!synced.ok()) return synced;  // the batch stays uncached and is recounted on read
  ArchivedTotals counts = count_batch(batch_dir, ctx.cfg.max_file_size);
  if (Status s = cache_put_batch(ctx.dir, batch, &counts); !s.ok()) return s;
  return result;
}

// Undoes the run of "unarchive" elements of one batch ending at index `end - 1`; returns the
// index where the run starts.
std::size_t undo_archive_run(const RepairContext& ctx, const json& inverse, std::size_t end,
                             std::vector<std::string>& problems) {
  const std::string batch = plan::step_of(inverse[end - 1]).batch;
  std::vector<std::string> files;
  std::size_t i = end;
  while (i > 0) {
    plan::Step st = plan::step_of(inverse[i - 1]);
    if (st.op != "unarchive" || st.batch != batch) break;
    files.insert(files.end(), st.files.begin(), st.files.end());
    --i;
  }
  if (Status s = undo_unarchive(ctx, batch, files); !s.ok()) problems.push_back(s.message());
  return i;
}

}  // namespace

bool is_plain_name(std::string_view name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string_view::npos &&
         name.find('\0') == std::string_view::npos;
}

Status rename_noreplace(const fs::path& from, const fs::path& to) {
  int rc = ::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE);
  if (rc != 0 && (errno == EINVAL || errno == ENOSYS)) {
    rc = ::link(from.c_str(), to.c_str());
    if (rc == 0) ::unlink(from.c_str());
  }
  if (rc == 0) return Status::Ok();
  int err = errno;
  if (err == EEXIST) return {ErrorCode::kConflict, to.string() + ": already exists"};
  return {err == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIo,
          fmt::format("{}: {}", from.string(), std::strerror(err))};
}

Status undo_repairs(const RepairContext& ctx, const json& inverse) {
  if (!inverse.is_array()) return {ErrorCode::kInvalidArgument, "inverse is not a JSON array"};
  std::vector<std::string> problems;
  ItemLocks locks(ctx.dir);
  std::size_t i = inverse.size();
  while (i > 0) {
    const plan::Step st = plan::step_of(inverse[i - 1]);
    if (st.op == "unarchive") {
      i = undo_archive_run(ctx, inverse, i, problems);
      continue;
    }
    Status s = undo_item_step(ctx, locks, st);
    if (!s.ok()) problems.push_back(s.message());
    --i;
  }
  return plan::undo_status(problems);
}

}  // namespace dslmodel::store::detail

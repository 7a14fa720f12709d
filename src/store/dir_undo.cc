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

namespace dslmodel::store::detail {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using ojson = nlohmann::ordered_json;

std::string str_member(const json& el, const char* key) {
  if (!el.is_object()) return "";
  auto it = el.find(key);
  return it != el.end() && it->is_string() ? it->get<std::string>() : "";
}

bool path_exists(const fs::path& p) {
  struct stat st {};
  return ::lstat(p.c_str(), &st) == 0;
}

Status conflict(std::string_view file, std::string_view why) {
  return {ErrorCode::kConflict, fmt::format("{}: {}", file, why)};
}

// The file's content; nullopt when it does not exist.
Result<std::optional<std::string>> read_if_exists(const RepairContext& ctx, const fs::path& rel) {
  Result<std::string> text = platform::read_file_limited(ctx.dir / rel, ctx.cfg.max_file_size);
  if (text.ok()) return std::optional<std::string>(std::move(text).value());
  if (text.status().code() == ErrorCode::kNotFound) return std::optional<std::string>();
  return text.status();
}

Status undo_restore(const RepairContext& ctx, const json& el) {
  std::string file = str_member(el, "file");
  if (!is_plain_name(file)) return {ErrorCode::kInvalidArgument, "restore: bad file name"};
  Result<std::optional<std::string>> cur = read_if_exists(ctx, file);
  if (!cur.ok()) return cur.status();
  if (!cur->has_value()) return conflict(file, "gone, not restored");
  std::string content = str_member(el, "content");
  if (**cur == content) return Status::Ok();
  if (**cur != str_member(el, "applied")) return conflict(file, "changed since, not restored");
  return platform::atomic_write_file(ctx.dir / file, content);
}

Status undo_undead(const RepairContext& ctx, const json& el) {
  std::string file = str_member(el, "file");
  std::string dead = str_member(el, "dead_file");
  if (!is_plain_name(file) || !is_plain_name(dead)) {
    return {ErrorCode::kInvalidArgument, "undead: bad file name"};
  }
  bool work_exists = path_exists(ctx.dir / file);
  if (path_exists(ctx.dir / dead)) {
    if (work_exists) return conflict(file, "exists again, " + dead + " left in place");
    Status s = platform::durable_rename_noreplace(ctx.dir / dead, ctx.dir / file);
    if (!s.ok()) return s;
  } else if (!work_exists) {
    return conflict(file, "gone, not restored");
  }
  Result<std::optional<std::string>> cur = read_if_exists(ctx, file);
  if (!cur.ok()) return cur.status();
  if (!cur->has_value()) return conflict(file, "gone, not restored");
  ojson doc = record_doc_or_discarded(**cur);
  // Still the dead-marked text: put the prior content back. Otherwise this step was done before.
  if (doc.is_object() && status_of(doc) == "dead") {
    return platform::atomic_write_file(ctx.dir / file, str_member(el, "content"));
  }
  return Status::Ok();
}

Status undo_unretry(const RepairContext& ctx, const json& el) {
  std::string file = str_member(el, "file");
  std::string work = str_member(el, "work_file");
  std::string archived = str_member(el, "archived");
  if (!is_plain_name(file) || !is_plain_name(work) || archived.find("..") != std::string::npos) {
    return {ErrorCode::kInvalidArgument, "unretry: bad file name"};
  }
  // Take the queued retry back first, unless an agent has picked it up meanwhile.
  Result<std::optional<std::string>> cur = read_if_exists(ctx, work);
  if (!cur.ok()) return cur.status();
  if (cur->has_value()) {
    if (**cur != str_member(el, "work_content")) return conflict(work, "changed since, kept");
    Result<std::string> moved = move_to_archive_subdir(ctx, work, "undone");
    if (!moved.ok()) return moved.status();
  }
  if (!archived.empty() && path_exists(ctx.dir / archived) && !path_exists(ctx.dir / file)) {
    return platform::durable_rename_noreplace(ctx.dir / archived, ctx.dir / file);
  }
  return Status::Ok();
}

Status undo_unfinalize(const RepairContext& ctx, const json& el) {
  std::string file = str_member(el, "file");
  std::string archived = str_member(el, "archived");
  if (!is_plain_name(file) || !archived.starts_with("archive/done/") ||
      archived.find("..") != std::string::npos) {
    return {ErrorCode::kInvalidArgument, "unfinalize: bad file name"};
  }
  bool archived_exists = path_exists(ctx.dir / archived);
  if (path_exists(ctx.dir / file)) {
    return archived_exists ? conflict(file, "exists again, " + archived + " left in place")
                           : Status::Ok();
  }
  if (!archived_exists) return conflict(file, "gone, not restored");
  return platform::durable_rename_noreplace(ctx.dir / archived, ctx.dir / file);
}

// Runs one item step under the item lock of its "file".
Status undo_item_step(const RepairContext& ctx, ItemLocks& locks, const std::string& op,
                      const json& el) {
  std::string file = str_member(el, "file");
  std::optional<ItemLocks::Guard> guard;
  if (is_plain_name(file) && kind_of_file(file)) {
    Result<ItemLocks::Guard> g = locks.lock(id_from_file_name(file));
    if (!g.ok()) return g.status();
    guard.emplace(std::move(g).value());
  }
  return op == "restore"      ? undo_restore(ctx, el)
         : op == "undead"     ? undo_undead(ctx, el)
         : op == "unretry"    ? undo_unretry(ctx, el)
         : op == "unfinalize" ? undo_unfinalize(ctx, el)
                              : Status(ErrorCode::kInvalidArgument, "unknown op \"" + op + "\"");
}

// Moves `files` of one batch back to the top level, then recounts the batch for the cache.
Status undo_unarchive(const RepairContext& ctx, const std::string& batch,
                      const std::vector<std::string>& files) {
  if (!is_plain_name(batch) || !batch.starts_with(kBatchPrefix)) {
    return {ErrorCode::kInvalidArgument, "unarchive: bad batch name"};
  }
  fs::path batch_dir = ctx.dir / kArchiveDir / batch;
  if (!path_exists(batch_dir)) return conflict(batch, "batch directory gone");
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
  std::string batch = str_member(inverse[end - 1], "batch");
  std::vector<std::string> files;
  std::size_t i = end;
  while (i > 0 && str_member(inverse[i - 1], "op") == "unarchive" &&
         str_member(inverse[i - 1], "batch") == batch) {
    const json& el = inverse[i - 1];
    if (auto it = el.find("files"); it != el.end() && it->is_array()) {
      for (const json& f : *it) {
        if (f.is_string()) files.push_back(f.get<std::string>());
      }
    }
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
    const json& el = inverse[i - 1];
    std::string op = str_member(el, "op");
    if (op == "unarchive") {
      i = undo_archive_run(ctx, inverse, i, problems);
      continue;
    }
    Status s = undo_item_step(ctx, locks, op, el);
    if (!s.ok()) problems.push_back(s.message());
    --i;
  }
  if (problems.empty()) return Status::Ok();
  std::string message = "not undone: " + problems.front();
  for (std::size_t n = 1; n < problems.size(); ++n) message += "; " + problems[n];
  return {ErrorCode::kConflict, std::move(message)};
}

}  // namespace dslmodel::store::detail

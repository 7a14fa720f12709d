// DirWorkQueue: adding, listing, showing and requeueing items; heartbeats and telemetry. The
// claim protocol itself (claim_next, finish, release) is in dir_claim.cc.
#include "store/dir_work_queue.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <utility>

#include "core/json_text.h"
#include "dslmodel/time.h"
#include "platform/files.h"
#include "store/dir_repair.h"
#include "store/queue_rules.h"
#include "store/record_parse.h"
#include "store/work_item.h"

namespace dslmodel::store {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using ojson = nlohmann::ordered_json;

bool path_exists(const fs::path& p) {
  struct stat st {};
  return ::lstat(p.c_str(), &st) == 0;
}

}  // namespace

DirWorkQueue::DirWorkQueue(fs::path dir, StoreConfig cfg, const Clock* clock)
    : dir_(std::move(dir)),
      cfg_(std::move(cfg)),
      clock_(clock != nullptr ? clock : &system_clock_),
      locks_(dir_) {}

Result<std::string> DirWorkQueue::add(const NewWork& work) {
  if (Status s = detail::check_new_work(work); !s.ok()) return s;
  std::error_code ec;
  if (!fs::is_directory(dir_, ec)) {
    return Status(ErrorCode::kNotFound,
                  fmt::format("coordination directory not found: {}", dir_.string()));
  }
  const TimePoint now = clock_->now();
  const std::string id = work.id.empty() ? detail::generate_id(now) : work.id;
  const ojson doc = detail::new_work_record(id, work, now);
  // The completed and dead records are checked first, the work record by the exclusive create:
  // an id finished or dead-lettered between the two is the one race left, and it needs the same
  // id added while that very item is being finished.
  for (const char* kind : {"completed", "dead"}) {
    if (path_exists(dir_ / fmt::format("{}_{}.json", kind, id))) {
      return Status(ErrorCode::kConflict,
                    fmt::format("work item \"{}\" already exists ({})", id, kind));
    }
  }
  const fs::path path = dir_ / ("work_" + id + ".json");
  Status s = platform::atomic_create_file(path, dump_json(doc));
  if (s.code() == ErrorCode::kConflict) {
    return Status(ErrorCode::kConflict, fmt::format("work item \"{}\" already exists", id));
  }
  if (!s.ok()) return s;
  candidates_.clear();  // our own new item may outrank the cached candidates
  next_ = 0;
  return id;
}

Status DirWorkQueue::heartbeat(const AgentState& agent) {
  if (!detail::valid_record_id(agent.id)) return detail::bad_id("agent", agent.id);
  const ojson doc = detail::agent_record(agent, clock_->now());
  Status s = detail::write_replace(dir_ / ("agent_" + agent.id + ".json"), dump_json(doc),
                                   detail::Sync::kNone);
  std::error_code ec;
  if (!s.ok() && !fs::is_directory(dir_, ec)) {
    return {ErrorCode::kNotFound,
            fmt::format("coordination directory not found: {}", dir_.string())};
  }
  return s;
}

Status DirWorkQueue::record_telemetry(const std::string& id, const nlohmann::json& metrics) {
  if (!detail::valid_record_id(id)) return detail::bad_id("telemetry", id);
  if (!metrics.is_object()) return {ErrorCode::kInvalidArgument, "metrics must be a JSON object"};
  const json doc = detail::telemetry_record(id, metrics, clock_->now());
  return detail::write_replace(dir_ / ("telemetry_" + id + ".json"), dump_json(doc),
                               detail::Sync::kNone);
}

Result<std::vector<WorkItem>> DirWorkQueue::list(const std::string& status) {
  std::vector<WorkItem> items;
  const std::string want = detail::status_filter(status);
  Status s = detail::for_each_work_file(dir_, cfg_.max_file_size, buf_,
                                        [&](std::string_view name, std::string_view bytes) {
                                          if (auto w = detail::listed_item(name, bytes, want))
                                            items.push_back(std::move(*w));
                                        });
  if (!s.ok()) return s;
  detail::sort_queue_order(items);
  return items;
}

Result<nlohmann::json> DirWorkQueue::show(const std::string& id) {
  if (!detail::valid_record_id(id)) return detail::bad_id("work", id);
  for (const detail::ItemPlace& place : detail::item_places(id)) {
    Result<detail::LoadedRecord> rec = detail::load_record(dir_ / place.file, cfg_.max_file_size);
    if (!rec.ok() && rec.status().code() == ErrorCode::kNotFound) continue;
    if (!rec.ok()) return rec.status();
    json doc(rec->doc);
    doc["location"] = place.location;
    return doc;
  }
  return Status(ErrorCode::kNotFound, fmt::format("no work item \"{}\" in {}", id, dir_.string()));
}

Status DirWorkQueue::requeue(const std::string& id) {
  if (!detail::valid_record_id(id)) return detail::bad_id("work", id);
  Result<detail::ItemLocks::Guard> guard = locks_.lock(id);
  if (!guard.ok()) return guard.status();
  const TimePoint now = clock_->now();
  const std::string work = "work_" + id + ".json";
  const std::string completed = "completed_" + id + ".json";
  const std::string dead = "dead_" + id + ".json";

  Result<detail::LoadedRecord> rec = detail::load_record(dir_ / work, cfg_.max_file_size);
  if (!rec.ok() && rec.status().code() == ErrorCode::kNotFound && path_exists(dir_ / dead)) {
    Status moved = platform::durable_rename_noreplace(dir_ / dead, dir_ / work);
    if (!moved.ok()) return moved;
    rec = detail::load_record(dir_ / work, cfg_.max_file_size);
  }
  if (rec.ok()) {
    ojson& doc = rec->doc;
    const std::string status = detail::status_of(doc);
    if (detail::is_claimed_status(status) && path_exists(dir_ / completed)) {
      return {ErrorCode::kConflict,
              fmt::format("work item \"{}\" already has {}: it is being finalized", id, completed)};
    }
    if (detail::is_pending_status(status) && detail::int_or(doc, "attempts", 0) == 0) {
      return Status::Ok();
    }
    detail::make_pending(doc, now);
    return platform::atomic_write_file(dir_ / work, dump_json(doc));
  }
  if (rec.status().code() != ErrorCode::kNotFound) return rec.status();

  Result<detail::LoadedRecord> done = detail::load_record(dir_ / completed, cfg_.max_file_size);
  if (!done.ok()) {
    if (done.status().code() != ErrorCode::kNotFound) return done.status();
    return {ErrorCode::kNotFound, fmt::format("no work item \"{}\" to requeue", id)};
  }
  if (completed_outcome(detail::status_of(done->doc)) != CompletedOutcome::kFailed) {
    return {ErrorCode::kInvalidArgument,
            fmt::format("work item \"{}\" completed successfully: nothing to requeue", id)};
  }
  if (!detail::has_payload(done->doc)) {
    return {ErrorCode::kInvalidArgument,
            fmt::format("failed item \"{}\" has no command or prompt to run again", id)};
  }
  ojson item = detail::requeued_record(id, done->doc, now);
  item["retry_of"] = completed;
  if (Status s = platform::atomic_create_file(dir_ / work, dump_json(item)); !s.ok()) return s;
  Result<std::string> moved =
      detail::move_to_archive_subdir({dir_, cfg_, *clock_}, completed, "retried");
  return moved.ok() ? Status::Ok() : moved.status();
}

}  // namespace dslmodel::store

// Work records: validation, parsing into WorkItem, and the records the queue writes.
#include "store/work_item.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/random.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>

#include "core/json_text.h"
#include "core/records.h"
#include "core/rules.h"
#include "dslmodel/time.h"
#include "platform/files.h"
#include "store/record_parse.h"

namespace dslmodel::store::detail {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using ojson = nlohmann::ordered_json;

std::uint64_t random_u64() {
  std::uint64_t v = 0;
  if (::getrandom(&v, sizeof v, GRND_NONBLOCK) != static_cast<ssize_t>(sizeof v)) {
    v = static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) ^
        (static_cast<std::uint64_t>(::getpid()) << 32);
  }
  return v;
}

template <typename J>
std::optional<std::int64_t> as_int(const J& doc, const char* key) {
  auto it = doc.find(key);
  if (it == doc.end()) return std::nullopt;
  if (it->is_number_integer()) return it->template get<std::int64_t>();
  if (it->is_number_float()) {
    double d = it->template get<double>();
    if (std::isfinite(d) && std::fabs(d) < 9e18) return static_cast<std::int64_t>(d);
  }
  return std::nullopt;
}

template <typename J>
std::string as_str(const J& doc, const char* key) {
  auto it = doc.find(key);
  return it != doc.end() && it->is_string() ? it->template get<std::string>() : std::string();
}

// "command" as argv; false when present but not a non-empty array of strings.
bool read_command(const json& doc, std::vector<std::string>& argv) {
  auto it = doc.find("command");
  if (it == doc.end() || it->is_null()) return true;
  if (!it->is_array() || it->empty()) return false;
  for (const json& arg : *it) {
    if (!arg.is_string()) {
      argv.clear();
      return false;
    }
    argv.push_back(arg.get<std::string>());
  }
  return true;
}

void copy_members(const ojson& from, ojson& to, std::initializer_list<const char*> keys) {
  for (const char* key : keys) {
    if (auto it = from.find(key); it != from.end() && !it->is_null()) to[key] = *it;
  }
}

}  // namespace

bool valid_record_id(std::string_view id) {
  if (id.empty() || id.size() > 128 || id == "." || id == "..") return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string generate_id(TimePoint now) {
  return fmt::format("{}-{:06x}", unix_millis(now), random_u64() & 0xffffffu);
}

bool is_claimed_status(std::string_view status) {
  return ::dslmodel::detail::is_claimed_work(status);
}

bool is_pending_status(std::string_view status) {
  return ::dslmodel::detail::is_pending_work(status);
}

WorkItem work_item_from(std::string_view file, const json& doc) {
  WorkItem w;
  w.file = std::string(file);
  w.id = kind_of_file(file) == RecordKind::kWork ? std::string(id_from_file_name(file))
                                                 : as_str(doc, "id");
  w.command_invalid = !read_command(doc, w.command);
  if (auto it = doc.find("prompt"); it != doc.end() && it->is_string()) {
    w.prompt = it->get<std::string>();
  }
  // The fields the snapshot counts, by the same rules (store/record_parse.h).
  Result<WorkRecord> r = work_record_of(file, doc);
  if (r.ok()) {
    w.status = r->status;
    w.priority = r->priority;
    w.attempts = r->attempts;
    w.max_attempts = r->max_attempts.value_or(w.max_attempts);
    if (r->timeout_s) w.timeout = Seconds(*r->timeout_s);
    w.claimed_by = r->claimed_by;
    w.created = r->created;
    w.claimed_at = r->claimed_at;
    w.lease_expires = r->lease_expires;
  } else {
    w.status = ::dslmodel::detail::lower(as_str(doc, "status"));
  }
  w.raw = doc;
  return w;
}

bool queue_before(std::int64_t priority_a, const std::optional<TimePoint>& created_a,
                  std::string_view file_a, std::int64_t priority_b,
                  const std::optional<TimePoint>& created_b, std::string_view file_b) {
  if (priority_a != priority_b) return priority_a > priority_b;
  if (created_a.has_value() != created_b.has_value()) return created_a.has_value();
  if (created_a && *created_a != *created_b) return *created_a < *created_b;
  return file_a < file_b;
}

Result<LoadedRecord> load_record(const fs::path& path, std::size_t max_size) {
  LoadedRecord rec;
  Status s = platform::read_file_at(AT_FDCWD, path.c_str(), max_size, rec.text);
  if (!s.ok())
    return Status(s.code(), fmt::format("{}: {}", path.filename().string(), s.message()));
  Result<RecordDoc> doc = parse_record_doc(rec.text);
  if (!doc.ok()) {
    return Status(ErrorCode::kCorrupt, fmt::format("{}: {}", valid_utf8(path.filename().string()),
                                                   doc.status().message()));
  }
  rec.doc = std::move(doc->doc);
  return rec;
}

Status for_each_work_file(const fs::path& dir, std::size_t max_size, std::string& buf,
                          const std::function<void(std::string_view, std::string_view)>& fn) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR* d = fd >= 0 ? ::fdopendir(fd) : nullptr;
  if (d == nullptr) {
    const int err = errno;
    if (fd >= 0) ::close(fd);
    if (err == ENOENT) {
      return {ErrorCode::kNotFound,
              fmt::format("coordination directory not found: {}", dir.string())};
    }
    return {ErrorCode::kIo, fmt::format("{}: {}", dir.string(), std::strerror(err))};
  }
  for (dirent* e = ::readdir(d); e != nullptr; e = ::readdir(d)) {
    std::string_view name = e->d_name;
    if (kind_of_file(name) != RecordKind::kWork || file_name_problem(name)) continue;
    if (e->d_type != DT_REG && e->d_type != DT_UNKNOWN) continue;
    if (!platform::read_file_at(fd, e->d_name, max_size, buf).ok()) continue;
    fn(name, buf);
  }
  ::closedir(d);
  return Status::Ok();
}

std::int64_t priority_or_zero(const ojson& doc) {
  Result<WorkRecord> r = work_record_of("", json(doc));
  return r.ok() ? r->priority : 0;
}

std::int64_t int_or(const ojson& doc, const char* key, std::int64_t fallback) {
  return as_int(doc, key).value_or(fallback);
}

std::string str_or_empty(const ojson& doc, const char* key) { return as_str(doc, key); }

bool has_payload(const ojson& doc) {
  auto cmd = doc.find("command");
  auto prompt = doc.find("prompt");
  return (cmd != doc.end() && cmd->is_array()) || (prompt != doc.end() && prompt->is_string());
}

ojson completion_record(std::string_view id, const ojson& work, std::string_view agent,
                        const Completion& c, TimePoint now) {
  ojson out = ojson::object();
  std::string stored_id = as_str(work, "id");
  out["id"] = stored_id.empty() ? std::string(id) : stored_id;
  if (c.success) {
    out["status"] = records::kCompleted;
    out["result"] = c.output;
  } else {
    out["status"] = records::kFailed;
    out["error"] = c.error.empty() ? fmt::format("exit code {}", c.exit_code) : c.error;
    out["output"] = c.output;
  }
  out["exit_code"] = c.exit_code;
  out["duration_ms"] = c.duration_ms;
  out["agent"] = std::string(agent);
  out["finished"] = format_iso8601(now);
  out["attempts"] = int_or(work, "attempts", 0) + 1;
  out["max_attempts"] = int_or(work, "max_attempts", WorkItem{}.max_attempts);
  copy_members(work, out, {"command", "prompt", "priority", "timeout_s", "created", "claimed_at"});
  return out;
}

ojson requeued_record(std::string_view id, const ojson& from, TimePoint now) {
  ojson item = ojson::object();
  std::string stored_id = as_str(from, "id");
  item["id"] = stored_id.empty() ? std::string(id) : stored_id;
  item["status"] = records::kPending;
  item["priority"] = priority_or_zero(from);
  item["created"] = format_iso8601(now);
  item["attempts"] = 0;
  item["max_attempts"] = int_or(from, "max_attempts", WorkItem{}.max_attempts);
  copy_members(from, item, {"timeout_s", "command", "prompt"});
  return item;
}

std::string status_of(const ojson& doc) {
  auto it = doc.find("status");
  if (it == doc.end() || !it->is_string()) return "";
  return ::dslmodel::detail::lower(it->get<std::string>());
}

bool is_finished_status(std::string_view status) {
  return ::dslmodel::detail::is_terminal_work(status);
}

Status bad_id(std::string_view what, std::string_view id) {
  return {ErrorCode::kInvalidArgument,
          fmt::format("invalid {} id \"{}\": use 1 to 128 of A-Z a-z 0-9 . _ -", what, id)};
}

Status check_new_work(const NewWork& work) {
  if (!work.id.empty() && !valid_record_id(work.id)) return bad_id("work", work.id);
  if (work.command.empty() == !work.prompt.has_value()) {
    return {ErrorCode::kInvalidArgument, "a work item needs exactly one of a command or a prompt"};
  }
  // The ranges the readers hold work files to (store/record_parse.h).
  auto outside = [](const char* what, std::int64_t v, IntRange r) -> Status {
    if (v >= r.min && v <= r.max) return Status::Ok();
    return {ErrorCode::kInvalidArgument,
            fmt::format("{} {} is out of range: allowed {} to {}", what, v, r.min, r.max)};
  };
  if (Status s = outside("max_attempts", work.max_attempts, kMaxAttemptsRange); !s.ok()) return s;
  if (Status s = outside("priority", work.priority, kPriorityRange); !s.ok()) return s;
  if (work.timeout) return outside("timeout (seconds)", work.timeout->count(), kTimeoutRange);
  return Status::Ok();
}

ojson new_work_record(std::string_view id, const NewWork& work, TimePoint now) {
  ojson doc = {{"id", std::string(id)},
               {"status", records::kPending},
               {"priority", work.priority},
               {"created", format_iso8601(now)},
               {"attempts", 0},
               {"max_attempts", work.max_attempts}};
  if (work.timeout) doc["timeout_s"] = work.timeout->count();
  if (work.prompt) {
    doc["prompt"] = *work.prompt;
  } else {
    doc["command"] = work.command;
  }
  return doc;
}

ojson agent_record(const AgentState& agent, TimePoint now) {
  ojson doc = {{"id", agent.id},
               {"status", agent.status},
               {"heartbeat", format_iso8601(now)},
               {"pid", agent.pid},
               {"host", agent.host}};
  if (!agent.current_work.empty()) doc["current_work"] = agent.current_work;
  if (agent.created) doc["created"] = format_iso8601(*agent.created);
  return doc;
}

json telemetry_record(std::string_view id, const json& metrics, TimePoint now) {
  json doc = json::object();
  doc["id"] = std::string(id);
  doc["timestamp"] = format_iso8601(now);
  doc["metrics"] = metrics;
  return doc;
}

Status claim_lost(std::string_view id, std::string_view why) {
  return {ErrorCode::kConflict, fmt::format("claim on \"{}\" lost: {}", id, why)};
}

Status check_claim(const ojson& doc, const WorkItem& claimed, const std::string& agent) {
  const std::string status = status_of(doc);
  if (!is_claimed_status(status)) {
    return claim_lost(claimed.id, fmt::format("status is \"{}\"", status));
  }
  const std::string holder = as_str(doc, "claimed_by");
  if (holder != agent) return claim_lost(claimed.id, fmt::format("claimed by \"{}\"", holder));
  auto want = claimed.raw.find("claimed_at");
  if (want != claimed.raw.end() && want->is_string() &&
      as_str(doc, "claimed_at") != want->get<std::string>()) {
    return claim_lost(claimed.id, "claimed again since");
  }
  return Status::Ok();
}

void mark_claimed(ojson& doc, std::string_view agent, TimePoint now, Seconds lease) {
  doc.erase("processes");  // a claim's processes are noted once its command runs
  doc["status"] = records::kClaimed;
  doc["claimed_by"] = std::string(agent);
  doc["claimed_at"] = format_iso8601(now);
  doc["lease_expires"] = format_iso8601(now + lease);
}

void drop_claim(ojson& doc) {
  doc.erase("processes");
  doc.erase("claimed_by");
  doc.erase("claimed_at");
  doc.erase("lease_expires");
}

void mark_retrying(ojson& doc, std::int64_t attempts, const Completion& c) {
  drop_claim(doc);
  doc["status"] = records::kPending;
  doc["attempts"] = attempts;
  doc["last_error"] = c.error.empty() ? fmt::format("exit code {}", c.exit_code) : c.error;
}

void make_pending(ojson& doc, TimePoint now) {
  for (const char* key :
       {"claimed_by", "claimed_at", "lease_expires", "processes", "dead_reason", "dead_at"}) {
    doc.erase(key);
  }
  doc["status"] = records::kPending;
  doc["attempts"] = 0;
  doc["requeued_at"] = format_iso8601(now);
}

Status write_replace(const fs::path& path, std::string_view data, Sync sync) {
  fs::path tmp = path.parent_path() / platform::temp_file_name(path.filename().string());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    const int err = errno;
    return {err == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIo,
            fmt::format("{}: {}", tmp.string(), std::strerror(err))};
  }
  int err = 0;
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      err = errno;
      break;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  if (err == 0 && sync == Sync::kData && ::fdatasync(fd) != 0) err = errno;
  if (::close(fd) != 0 && err == 0) err = errno;
  if (err == 0 && ::rename(tmp.c_str(), path.c_str()) != 0) err = errno;
  if (err != 0) {
    ::unlink(tmp.c_str());
    return {ErrorCode::kIo, fmt::format("{}: {}", path.string(), std::strerror(err))};
  }
  return Status::Ok();
}

}  // namespace dslmodel::store::detail

// Work records as the work queues read and write them, shared by the dir and etcd backends
// (private to src/store; the engine's repairs are store/repair_plan.h). Pure functions
// except generate_id() (random source), load_record(), for_each_work_file() and write_replace(),
// which do file I/O. Thread-safe: no shared state.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "dslmodel/work_queue.h"

namespace dslmodel::store::detail {

// Record ids that name files: [A-Za-z0-9._-]{1,128}, and not "." or "..".
bool valid_record_id(std::string_view id);

// "<unix_ms>-<6 lower-case hex digits>" from the time and the system's random source.
std::string generate_id(TimePoint now);

// Claim statuses: "claimed", "in_progress", "running" (lower-cased).
bool is_claimed_status(std::string_view status);
// "pending" or empty (lower-cased).
bool is_pending_status(std::string_view status);

// The item a record describes, its fields read as parse_work() reads them. Never fails: fields
// of the wrong type take their defaults, and a "command" that is not a non-empty array of
// strings sets command_invalid. `file` is
// "work_<id>.json"; WorkItem::id is the id the file name implies.
WorkItem work_item_from(std::string_view file, const nlohmann::json& doc);

// Queue order: priority desc, then created asc (unknown last), then file name.
bool queue_before(std::int64_t priority_a, const std::optional<TimePoint>& created_a,
                  std::string_view file_a, std::int64_t priority_b,
                  const std::optional<TimePoint>& created_b, std::string_view file_b);

// A record's text and its JSON object (fields in file order).
struct LoadedRecord {
  std::string text;
  nlohmann::ordered_json doc;
};

// Reads and parses `path` (no symlinks, at most `max_size` bytes) as parse_record_doc() does.
// kNotFound when it does not exist; kCorrupt "<file>: <reason>" with parse_record_doc()'s reason;
// kInvalidArgument / kIo as platform::read_file_limited.
Result<LoadedRecord> load_record(const std::filesystem::path& path, std::size_t max_size);

// Calls fn(file name, bytes) for every work_*.json at the top level of `dir` that is a regular
// file of at most `max_size` bytes and whose name has no file_name_problem() (others are
// skipped), in directory order. `buf` is reused.
// Fails with kNotFound "coordination directory not found: <dir>" or kIo when `dir` cannot be
// opened.
Status for_each_work_file(const std::filesystem::path& dir, std::size_t max_size, std::string& buf,
                          const std::function<void(std::string_view, std::string_view)>& fn);

// The lower-cased "status" string of a JSON object; empty when absent or not a string.
std::string status_of(const nlohmann::ordered_json& doc);

// Finished statuses: "completed", "failed", "cancelled", "dead" (lower-cased).
bool is_finished_status(std::string_view status);

// The "priority" as parse_work() reads it (words, numeric strings), 0 when unusable.
std::int64_t priority_or_zero(const nlohmann::ordered_json& doc);

// The integer member `key`, or `fallback` when absent or not an integer.
std::int64_t int_or(const nlohmann::ordered_json& doc, const char* key, std::int64_t fallback);

// The string member `key`, or "" when absent or not a string.
std::string str_or_empty(const nlohmann::ordered_json& doc, const char* key);

// True when `doc` carries a runnable or retryable payload: "command" array or "prompt" string.
bool has_payload(const nlohmann::ordered_json& doc);

// The completed_<id>.json record of a finished claim of `work`. success: status "completed",
// "result" = output; otherwise status "failed", "error" (the completion's, or "exit code N"),
// "output". Both: exit_code, duration_ms, agent, finished, attempts = work attempts + 1,
// max_attempts, and the payload and item fields (command, prompt, priority, timeout_s, created,
// claimed_at) copied from `work`.
nlohmann::ordered_json completion_record(std::string_view id, const nlohmann::ordered_json& work,
                                         std::string_view agent, const Completion& c,
                                         TimePoint now);

// A fresh pending work record with the payload of `from` (a failed completion or a dead item):
// id, status, command/prompt, priority, max_attempts, timeout_s copied, attempts 0, created now.
nlohmann::ordered_json requeued_record(std::string_view id, const nlohmann::ordered_json& from,
                                       TimePoint now);

// kInvalidArgument "invalid <what> id ..." for an id outside [A-Za-z0-9._-]{1,128}.
Status bad_id(std::string_view what, std::string_view id);

// Ok, or kInvalidArgument naming what is wrong with a new item: a bad id (an empty id is fine:
// one is generated), neither or both of command/prompt, max_attempts, priority or the timeout
// outside the ranges the readers accept (kMaxAttemptsRange, kPriorityRange, kTimeoutRange).
Status check_new_work(const NewWork& work);

// The pending record add() writes: {"id","status":"pending","priority","created":now,
// "attempts":0,"max_attempts","timeout_s"?,"command"|"prompt"}.
nlohmann::ordered_json new_work_record(std::string_view id, const NewWork& work, TimePoint now);

// The agent record a heartbeat writes: {"id","status","heartbeat":now,"pid","host",
// "current_work"?,"created"?}.
nlohmann::ordered_json agent_record(const AgentState& agent, TimePoint now);

// The telemetry record: {"id","timestamp":now,"metrics"}.
nlohmann::json telemetry_record(std::string_view id, const nlohmann::json& metrics, TimePoint now);

// kConflict "claim on \"<id>\" lost: <why>".
Status claim_lost(std::string_view id, std::string_view why);

// Ok when `doc` is the claim `claimed` that `agent` holds: a claim status, claimed_by == agent,
// and, when `claimed` carries claimed_at, that same claimed_at. Else claim_lost() naming what
// changed.
Status check_claim(const nlohmann::ordered_json& doc, const WorkItem& claimed,
                   const std::string& agent);

// Sets status "claimed", claimed_by, claimed_at = now, lease_expires = now + lease; drops
// processes (noted once the new claim's command runs).
void mark_claimed(nlohmann::ordered_json& doc, std::string_view agent, TimePoint now,
                  Seconds lease);

// Removes claimed_by, claimed_at, lease_expires and processes.
void drop_claim(nlohmann::ordered_json& doc);

// A failed run with attempts left: claim dropped, status "pending", attempts = `attempts`,
// last_error = the completion's error, or "exit code N".
void mark_retrying(nlohmann::ordered_json& doc, std::int64_t attempts, const Completion& c);

// A user's requeue: claim, dead and retry marks removed, status "pending", attempts 0,
// requeued_at = now.
void make_pending(nlohmann::ordered_json& doc, TimePoint now);

// How much write_replace() makes durable before it returns.
enum class Sync {
  kNone,  // readers see the old or the new content; a power loss may lose the write
  kData,  // the temp file is fsynced before the rename: after a power loss the file holds the
          // old or the new content (never an empty new file), but the rename itself may be lost
};

// Replaces `path` atomically through a hidden temp file in the same directory and rename(2);
// never fsyncs the directory (platform::atomic_write_file does, for full durability). kIo or
// kNotFound (the directory is gone) naming the path and the OS error.
Status write_replace(const std::filesystem::path& path, std::string_view data, Sync sync);

}  // namespace dslmodel::store::detail

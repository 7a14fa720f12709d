// What the engine's repairs and their undo mean, written once for every backend (private to
// src/store). Pure: no I/O, no clock (the time is passed in). Each backend reads the records a
// step names, asks this layer whether the step applies and what to write, and executes the answer
// its own way: the directory with item locks, atomic writes and renames (dir_repair.cc,
// dir_undo.cc), etcd as one transaction that compares every record read (etcd_store.cc).
//
//   op            reads                   requires                          writes / moves
//   requeue       work_<id>               claimed (by expect_claimed_by),   work_<id>: pending,
//                                         no process of the claim running   claim cleared,
//                                                                           attempts + 1
//   dead_letter   work_<id>, dead_<id>    not finished, dead_<id> absent    work_<id> → dead_<id>,
//                                                                           status "dead"
//   retry_failed  completed_<id>,         a retryable failure,              new pending work_<id>;
//                 work_<id>               work_<id> absent                  completed_<id> →
//                                                                           archive/retried/
//   archive       completed_ | telemetry_ a record the parsers accept       → archive/, its counts
//                                                                           added to the totals
//   finalize      work_<id>,              claimed (by expect_claimed_by),   work_<id> →
//                 completed_<id>          completion not a failure by       archive/done/
//                                         another agent
//
// Inverse elements (journals written by every version must still undo), in application order;
// undo replays them newest first:
//   {"op":"restore","file":"work_x.json","content":<prior text>,"applied":<text written>}
//   {"op":"undead","file":"work_x.json","dead_file":"dead_x.json","content":<prior text>}
//   {"op":"unretry","file":"completed_x.json","archived":"archive/retried/<name>" | null,
//    "work_file":"work_x.json","work_content":<text written>}
//   {"op":"unfinalize","file":"work_x.json","archived":"archive/done/<name>"}
//   {"op":"unarchive","batch":"batch-<ms>-<pid>","files":["completed_x.json"]}   (directory)
//   {"op":"unarchive","file":"completed_x.json","archived":"archive/<sub>/<name>"}  (etcd)
// Thread-safe: no shared state.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dslmodel/snapshot.h"
#include "dslmodel/status.h"
#include "dslmodel/store.h"

namespace dslmodel::store::plan {

using ojson = nlohmann::ordered_json;

// The record of the same id as `file` of another kind: sibling(kDeadPrefix, "work_7.json") ==
// "dead_7.json". REQUIRES: kind_of_file(file).
std::string sibling(std::string_view kind_prefix, std::string_view file);

// "<op> <file>: skipped: <why>", the note of a skipped action.
std::string skip_note(const RepairAction& a, std::string_view why);

// Why action `a` cannot run on the record it names, before anything is read; nullopt when it may.
// `name_ok`: the backend can hold a record of that name (a plain file name, a key).
std::optional<std::string> target_problem(const RepairAction& a, bool name_ok);

// A record as read: its text and its JSON object (fields in their stored order).
struct Read {
  std::string text;
  ojson doc;
};
// `text` as a Read, or why it cannot be repaired ("not a JSON object").
Result<Read> read_of(std::string text);

// The answer for one step: a skip reason, or the text to write.
struct Edit {
  std::optional<std::string> skip;
  std::string text;
};

// Why a requeue or a finalize of claimed work record `doc` does not apply: nullopt when it is
// claimed (claimed, in_progress, running) and, with a non-empty `expect_claimed_by`, by that
// agent; else "status is now \"<s>\"" or "claimed by \"<a>\" now".
std::optional<std::string> claim_problem(const ojson& doc, std::string_view expect_claimed_by);

// Where a requeue may have to wait: why the claim's processes may still run (store/
// claim_processes.h reads that from the host), or nullopt.
using WaitCheck = std::function<std::optional<std::string>(const ojson&)>;

// requeue: claim_problem(), then `wait` ("postponed: <why>"); writes the record with status
// "pending", the claim dropped, attempts + 1, requeued_at = now, requeue_reason = a.reason.
Edit requeue(const RepairAction& a, const Read& work, const WaitCheck& wait, TimePoint now);

// dead_letter, precondition: the record is not finished ("status is now \"<s>\"").
std::optional<std::string> dead_letter_problem(const Read& work);
// dead_letter, the dead record: status "dead", dead_reason = a.reason, dead_at = now.
std::string dead_record(const RepairAction& a, const Read& work, TimePoint now);

// retry_failed: the failed completion must be retryable ("not a retryable failure"); writes the
// pending work record: id, status, command, prompt, attempts, max_attempts, priority, timeout_s
// copied, created = now, retry_of = a.file.
Edit retry(const RepairAction& a, const Read& failed, TimePoint now);

// finalize: claim_problem(), then the completion `done` (named `done_name`; not a Result: why
// it cannot be read) must be a success or a failure recorded by the holder (no "agent" counts
// as the holder).
std::optional<std::string> finalize_problem(const RepairAction& a, const Read& work,
                                            std::string_view done_name, const Result<Read>& done);

// "<name> exists": the skip reason when a record a step creates exists already.
std::string exists(std::string_view name);

// archive: the counts a completed or telemetry record adds to the archived totals; else why it
// cannot be archived (the parser's reason).
Result<ArchivedTotals> archived_counts(std::string_view file, std::string_view text);
void add_totals(ArchivedTotals& to, const ArchivedTotals& add);
// Subtracts, never below zero.
void subtract_totals(ArchivedTotals& from, const ArchivedTotals& sub);

// The inverse elements (see the table above).
nlohmann::json restore_step(std::string_view file, std::string_view content,
                            std::string_view applied);
nlohmann::json undead_step(std::string_view file, std::string_view dead_file,
                           std::string_view content);
// `archived` empty: null (the record could not be moved).
nlohmann::json unretry_step(std::string_view file, std::string_view archived,
                            std::string_view work_file, std::string_view work_content);
nlohmann::json unfinalize_step(std::string_view file, std::string_view archived);
nlohmann::json unarchive_batch_step(std::string_view batch, std::string_view file);
nlohmann::json unarchive_step(std::string_view file, std::string_view archived);

// One inverse element as read back; members absent or not strings are empty.
struct Step {
  std::string op, file, content, applied, dead_file, archived, work_file, work_content, batch;
  std::vector<std::string> files;  // "files" of a directory unarchive
};
Step step_of(const nlohmann::json& el);

// What undoing a step does.
enum class Undo {
  kNothing,   // done already (or nothing was applied)
  kWrite,     // write the step's content back / move the record back
  kConflict,  // the records changed since: leave them, report `problem`
};
struct UndoChoice {
  Undo what = Undo::kNothing;
  std::string problem;  // kConflict: "<file>: <why>"
};

// restore: `current` is the record now (nullopt: absent). Writes `content` back only while the
// record still holds what the repair wrote.
UndoChoice undo_restore(const Step& s, const std::optional<std::string>& current);

// Moving `file` back from `from` (undead: the dead record; unfinalize, unarchive: the archived
// copy): kWrite when only `from` exists, kNothing when only `file` does, else kConflict.
UndoChoice undo_move_back(std::string_view file, std::string_view from, bool file_exists,
                          bool from_exists);

// undead in place: true when `current` (the work record moved back) still carries the dead mark,
// so the prior content is to be written.
bool still_dead(std::string_view current);

// unretry, the queued retry `current` (nullopt: absent): kWrite takes it back (archived as
// "undone"), kNothing when it is gone, kConflict when an agent changed it since.
UndoChoice undo_retry_item(const Step& s, const std::optional<std::string>& current);

// unretry, the failed completion: moved back from `s.archived` only when it was archived, its
// archived copy exists and the completed record does not.
bool retry_record_back(const Step& s, bool archived_exists, bool file_exists);

// "<op>: bad file name": the problem of an element that names no record of the store.
std::string bad_step(std::string_view op);

// Ok, or kConflict "not undone: <p1>; <p2>..." naming every problem.
Status undo_status(const std::vector<std::string>& problems);

}  // namespace dslmodel::store::plan

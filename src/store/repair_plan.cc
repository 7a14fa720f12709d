// The repair plan layer: preconditions, record edits and inverse elements of every repair, for
// both backends (store/repair_plan.h).
#include "store/repair_plan.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/json_text.h"
#include "core/records.h"
#include "dslmodel/time.h"
#include "store/record_parse.h"
#include "store/work_item.h"

namespace dslmodel::store::plan {
namespace {

using json = nlohmann::json;

std::string str_member(const json& el, const char* key) {
  if (!el.is_object()) return "";
  auto it = el.find(key);
  return it != el.end() && it->is_string() ? it->get<std::string>() : "";
}

std::string conflict(std::string_view file, std::string_view why) {
  return fmt::format("{}: {}", file, why);
}

UndoChoice problem(std::string_view file, std::string_view why) {
  return {Undo::kConflict, conflict(file, why)};
}

}  // namespace

std::string sibling(std::string_view kind_prefix, std::string_view file) {
  return records::file_name(kind_prefix, id_from_file_name(file));
}

std::string skip_note(const RepairAction& a, std::string_view why) {
  return fmt::format("{} {}: skipped: {}", to_string(a.op), a.file, why);
}

std::optional<std::string> target_problem(const RepairAction& a, bool name_ok) {
  const std::optional<RecordKind> kind = kind_of_file(a.file);
  if (!name_ok || !kind) return "not a record file name";
  switch (a.op) {
    case RepairOp::kArchive:
      if (kind == RecordKind::kCompleted || kind == RecordKind::kTelemetry) return std::nullopt;
      return "not a completed or telemetry file";
    case RepairOp::kRetryFailed:
      if (kind == RecordKind::kCompleted) return std::nullopt;
      return "not a completed file";
    case RepairOp::kRequeue:
    case RepairOp::kDeadLetter:
    case RepairOp::kFinalize:
      if (kind == RecordKind::kWork) return std::nullopt;
      return "not a work file";
  }
  return "not an item repair";
}

Result<Read> read_of(std::string text) {
  ojson doc = record_doc_or_discarded(text);
  if (doc.is_discarded()) return Status(ErrorCode::kCorrupt, "not a JSON object");
  return Read{std::move(text), std::move(doc)};
}

std::optional<std::string> claim_problem(const ojson& doc, std::string_view expect_claimed_by) {
  const std::string status = detail::status_of(doc);
  if (!detail::is_claimed_status(status)) return fmt::format("status is now \"{}\"", status);
  const std::string claimed_by = detail::str_or_empty(doc, "claimed_by");
  if (!expect_claimed_by.empty() && claimed_by != expect_claimed_by) {
    return fmt::format("claimed by \"{}\" now", claimed_by);
  }
  return std::nullopt;
}

Edit requeue(const RepairAction& a, const Read& work, const WaitCheck& wait, TimePoint now) {
  if (auto why = claim_problem(work.doc, a.expect_claimed_by)) return {why, ""};
  if (auto why = wait(work.doc)) return {"postponed: " + *why, ""};
  ojson doc = work.doc;
  auto att = doc.find("attempts");
  const std::int64_t attempts =
      att != doc.end() && att->is_number_integer() ? att->get<std::int64_t>() : 0;
  doc["status"] = records::kPending;
  detail::drop_claim(doc);
  doc["attempts"] = attempts + 1;
  doc["requeued_at"] = format_iso8601(now);
  doc["requeue_reason"] = a.reason;
  return {std::nullopt, dump_json(doc)};
}

std::optional<std::string> dead_letter_problem(const Read& work) {
  const std::string status = detail::status_of(work.doc);
  if (detail::is_finished_status(status)) return fmt::format("status is now \"{}\"", status);
  return std::nullopt;
}

std::string dead_record(const RepairAction& a, const Read& work, TimePoint now) {
  ojson doc = work.doc;
  doc["status"] = records::kDead;
  doc["dead_reason"] = a.reason;
  doc["dead_at"] = format_iso8601(now);
  return dump_json(doc);
}

Edit retry(const RepairAction& a, const Read& failed, TimePoint now) {
  Result<CompletedRecord> parsed = parse_completed(a.file, failed.text);
  if (!parsed.ok() || !parsed->retryable) return {"not a retryable failure", ""};
  ojson item = ojson::object();
  auto id = failed.doc.find("id");
  item["id"] = id != failed.doc.end() && id->is_string() ? id->get<std::string>()
                                                         : std::string(id_from_file_name(a.file));
  item["status"] = records::kPending;
  for (const char* key :
       {"command", "prompt", "attempts", "max_attempts", "priority", "timeout_s"}) {
    if (auto it = failed.doc.find(key); it != failed.doc.end()) item[key] = *it;
  }
  item["created"] = format_iso8601(now);
  item["retry_of"] = a.file;
  return {std::nullopt, dump_json(item)};
}

std::optional<std::string> finalize_problem(const RepairAction& a, const Read& work,
                                            std::string_view done_name, const Result<Read>& done) {
  if (auto why = claim_problem(work.doc, a.expect_claimed_by)) return why;
  if (!done.ok()) return fmt::format("{}: {}", done_name, done.status().message());
  const std::string holder = detail::str_or_empty(work.doc, "claimed_by");
  auto agent = done->doc.find("agent");
  const std::string finisher =
      agent != done->doc.end() && agent->is_string() ? agent->get<std::string>() : holder;
  if (completed_outcome(detail::status_of(done->doc)) != CompletedOutcome::kSucceeded &&
      finisher != holder) {
    return fmt::format("{} is a failure by \"{}\", not the holder", done_name, finisher);
  }
  return std::nullopt;
}

std::string exists(std::string_view name) { return fmt::format("{} exists", name); }

Result<ArchivedTotals> archived_counts(std::string_view file, std::string_view text) {
  ArchivedTotals add;
  if (kind_of_file(file) == RecordKind::kTelemetry) {
    Result<TelemetryRecord> r = parse_telemetry(file, text);
    if (!r.ok()) return r.status();
    add.telemetry = r->count;
    return add;
  }
  Result<CompletedRecord> r = parse_completed(file, text);
  if (!r.ok()) return r.status();
  const CompletedOutcome o = completed_outcome(r->status);
  add.succeeded = o == CompletedOutcome::kSucceeded ? 1 : 0;
  add.failed = o == CompletedOutcome::kFailed ? 1 : 0;
  return add;
}

void add_totals(ArchivedTotals& to, const ArchivedTotals& add) {
  to.succeeded += add.succeeded;
  to.failed += add.failed;
  to.telemetry += add.telemetry;
}

void subtract_totals(ArchivedTotals& from, const ArchivedTotals& sub) {
  from.succeeded = std::max<std::int64_t>(0, from.succeeded - sub.succeeded);
  from.failed = std::max<std::int64_t>(0, from.failed - sub.failed);
  from.telemetry = std::max<std::int64_t>(0, from.telemetry - sub.telemetry);
}

json restore_step(std::string_view file, std::string_view content, std::string_view applied) {
  return {{"op", "restore"}, {"file", file}, {"content", content}, {"applied", applied}};
}

json undead_step(std::string_view file, std::string_view dead_file, std::string_view content) {
  return {{"op", "undead"}, {"file", file}, {"dead_file", dead_file}, {"content", content}};
}

json unretry_step(std::string_view file, std::string_view archived, std::string_view work_file,
                  std::string_view work_content) {
  return {{"op", "unretry"},
          {"file", file},
          {"archived", archived.empty() ? json(nullptr) : json(archived)},
          {"work_file", work_file},
          {"work_content", work_content}};
}

json unfinalize_step(std::string_view file, std::string_view archived) {
  return {{"op", "unfinalize"}, {"file", file}, {"archived", archived}};
}

json unarchive_batch_step(std::string_view batch, std::string_view file) {
  return {{"op", "unarchive"}, {"batch", batch}, {"files", json::array({file})}};
}

json unarchive_step(std::string_view file, std::string_view archived) {
  return {{"op", "unarchive"}, {"file", file}, {"archived", archived}};
}

Step step_of(const json& el) {
  Step s;
  s.op = str_member(el, "op");
  s.file = str_member(el, "file");
  s.content = str_member(el, "content");
  s.applied = str_member(el, "applied");
  s.dead_file = str_member(el, "dead_file");
  s.archived = str_member(el, "archived");
  s.work_file = str_member(el, "work_file");
  s.work_content = str_member(el, "work_content");
  s.batch = str_member(el, "batch");
  if (!el.is_object()) return s;
  if (auto it = el.find("files"); it != el.end() && it->is_array()) {
    for (const json& f : *it) {
      if (f.is_string()) s.files.push_back(f.get<std::string>());
    }
  }
  return s;
}

UndoChoice undo_restore(const Step& s, const std::optional<std::string>& current) {
  if (!current) return problem(s.file, "gone, not restored");
  if (*current == s.content) return {};
  if (*current != s.applied) return problem(s.file, "changed since, not restored");
  return {Undo::kWrite, ""};
}

UndoChoice undo_move_back(std::string_view file, std::string_view from, bool file_exists,
                          bool from_exists) {
  if (file_exists) {
    if (from_exists) return problem(file, fmt::format("exists again, {} left in place", from));
    return {};
  }
  if (!from_exists) return problem(file, "gone, not restored");
  return {Undo::kWrite, ""};
}

bool still_dead(std::string_view current) {
  ojson doc = record_doc_or_discarded(current);
  return doc.is_object() && detail::status_of(doc) == records::kDead;
}

UndoChoice undo_retry_item(const Step& s, const std::optional<std::string>& current) {
  if (!current) return {};
  if (*current != s.work_content) return problem(s.work_file, "changed since, kept");
  return {Undo::kWrite, ""};
}

bool retry_record_back(const Step& s, bool archived_exists, bool file_exists) {
  return !s.archived.empty() && archived_exists && !file_exists;
}

std::string bad_step(std::string_view op) { return fmt::format("{}: bad file name", op); }

Status undo_status(const std::vector<std::string>& problems) {
  if (problems.empty()) return Status::Ok();
  std::string message = "not undone: " + problems.front();
  for (std::size_t n = 1; n < problems.size(); ++n) message += "; " + problems[n];
  return {ErrorCode::kConflict, std::move(message)};
}

}  // namespace dslmodel::store::plan

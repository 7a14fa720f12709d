#include "store/queue_rules.h"

#include "core/records.h"
#include "core/rules.h"
#include "store/record_parse.h"

namespace dslmodel::store::detail {

std::array<ItemPlace, 4> item_places(std::string_view id) {
  const std::string work = records::file_name(records::kWorkPrefix, id);
  return {{{work, "queue"},
           {records::file_name(records::kCompletedPrefix, id), "completed"},
           {records::file_name(records::kDeadPrefix, id), "dead"},
           {"archive/done/" + work, "archive"}}};
}

bool claimable(std::string_view status) { return is_pending_status(status); }

std::string status_filter(std::string_view status) { return ::dslmodel::detail::lower(status); }

std::optional<WorkItem> listed_item(std::string_view name, std::string_view bytes,
                                    std::string_view want) {
  if (!parse_work(name, bytes).ok()) return std::nullopt;
  Result<RecordDoc> doc = parse_record_doc(bytes);
  if (!doc.ok()) return std::nullopt;
  WorkItem w = work_item_from(name, nlohmann::json(doc->doc));
  const std::string_view st = w.status.empty() ? records::kPending : std::string_view(w.status);
  if (!want.empty() && st != want) return std::nullopt;
  return w;
}

}  // namespace dslmodel::store::detail

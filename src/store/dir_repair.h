// Repairs of a coordination directory and their undo (private to the dir backend).
//
// What each repair and undo step means, and the inverse elements, are store/repair_plan.h's; this
// executes them on a directory.
// Requeue, dead-letter, retry, finalize and their undo hold the item lock of the record's id
// (store/item_lock.h), as the work queue does. Thread-compatible; processes coordinate through
// atomic renames, the item locks and the archive lock.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dslmodel/clock.h"
#include "dslmodel/config.h"
#include "dslmodel/store.h"
#include "store/work_item.h"

namespace dslmodel::store::detail {

struct RepairContext {
  const std::filesystem::path& dir;
  const StoreConfig& cfg;
  const Clock& clock;
};

Result<RepairOutcome> apply_repairs(const RepairContext& ctx,
                                    const std::vector<RepairAction>& actions);

Status undo_repairs(const RepairContext& ctx, const nlohmann::json& inverse);

// True for a bare file name (no '/', not "." or ".."): actions never leave the directory.
bool is_plain_name(std::string_view name);

// Renames without replacing (kConflict when `to` exists) and without fsync; callers fsync the
// directories once per batch. kNotFound when `from` is gone.
Status rename_noreplace(const std::filesystem::path& from, const std::filesystem::path& to);

// Moves the record `file` into archive/<subdir>/ under its name, or "<stem>.<n>.json" when that is
// taken; durably (both directories fsynced) unless `durable` is false. Returns the new path
// relative to the directory. kNotFound when `file` is gone.
Result<std::string> move_to_archive_subdir(const RepairContext& ctx, const std::string& file,
                                           std::string_view subdir, bool durable = true);

}  // namespace dslmodel::store::detail

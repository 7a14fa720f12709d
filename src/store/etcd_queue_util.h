// What EtcdWorkQueue's calls share (private to src/store): the compares of a read record, the
// record as a JSON object, and the bound on read-decide-commit rounds. Pure; thread-safe.
#pragma once

#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "core/json_text.h"
#include "dslmodel/status.h"
#include "etcd/client.h"
#include "store/record_parse.h"

namespace dslmodel::store::detail {

using ojson = nlohmann::ordered_json;
using etcd::Compare;
using etcd::KeyValue;

// Read-decide-commit rounds of one call before it gives up on a record that keeps changing.
inline constexpr int kRounds = 8;

inline Compare unchanged(const KeyValue& kv) {
  return Compare::mod_revision(kv.key, Compare::Op::kEqual, kv.mod_revision);
}

inline Compare as_read(const std::string& key, const std::optional<KeyValue>& kv) {
  return kv ? unchanged(*kv) : Compare::absent(key);
}

inline Status busy(std::string_view id) {
  return {ErrorCode::kConflict,
          fmt::format("work item \"{}\" kept changing during {} attempts", id, kRounds)};
}

// The record in `kv` (named `file`) as a JSON object; kCorrupt or kInvalidArgument as
// detail::load_record reports them.
inline Result<ojson> parse_object(const KeyValue& kv, std::string_view file, std::size_t max_size) {
  if (kv.value.size() > max_size) {
    return Status(ErrorCode::kInvalidArgument,
                  fmt::format("{}: over the size limit ({} bytes)", file, max_size));
  }
  Result<RecordDoc> doc = parse_record_doc(kv.value);
  if (!doc.ok()) {
    return Status(ErrorCode::kCorrupt,
                  fmt::format("{}: {}", valid_utf8(file), doc.status().message()));
  }
  return std::move(doc->doc);
}

}  // namespace dslmodel::store::detail

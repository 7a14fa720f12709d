// Key layout of the coordination state in etcd, and the reads both etcd classes share.
#include "store/etcd_keys.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>

#include "core/json_text.h"

namespace dslmodel::store {
namespace {

using json = nlohmann::json;

struct KindDir {
  std::string_view file_prefix;  // "work_"
  std::string_view dir;          // "work"
};

constexpr std::array<KindDir, 5> kKinds = {{{"agent_", kEtcdAgentDir},
                                            {"work_", kEtcdWorkDir},
                                            {"completed_", kEtcdCompletedDir},
                                            {"telemetry_", kEtcdTelemetryDir},
                                            {"dead_", kEtcdDeadDir}}};

constexpr std::string_view kJson = ".json";

// Non-empty, without '/' or NUL.
bool is_plain(std::string_view s) {
  return !s.empty() && s.find('/') == std::string_view::npos &&
         s.find('\0') == std::string_view::npos;
}

std::int64_t count_member(const json& doc, const char* key) {
  auto it = doc.find(key);
  return it != doc.end() && it->is_number_integer() ? it->get<std::int64_t>() : 0;
}

}  // namespace

std::optional<std::string> key_for_file(std::string_view prefix, std::string_view file) {
  const std::string archive = fmt::format("{}/", kEtcdArchiveDir);
  if (file.starts_with(archive)) {
    std::string_view rest = file.substr(archive.size());
    const std::size_t slash = rest.find('/');
    if (slash == std::string_view::npos) return std::nullopt;
    if (!is_plain(rest.substr(0, slash)) || !is_plain(rest.substr(slash + 1))) return std::nullopt;
    return fmt::format("{}/{}", prefix, file);
  }
  if (!file.ends_with(kJson)) return std::nullopt;
  for (const KindDir& k : kKinds) {
    if (!file.starts_with(k.file_prefix)) continue;
    if (file.size() <= k.file_prefix.size() + kJson.size()) return std::nullopt;
    std::string_view id =
        file.substr(k.file_prefix.size(), file.size() - k.file_prefix.size() - kJson.size());
    if (!is_plain(id)) return std::nullopt;
    return fmt::format("{}/{}/{}", prefix, k.dir, id);
  }
  return std::nullopt;
}

std::optional<std::string> file_for_key(std::string_view prefix, std::string_view key) {
  if (!key.starts_with(prefix) || key.size() <= prefix.size() || key[prefix.size()] != '/') {
    return std::nullopt;
  }
  std::string_view rest = key.substr(prefix.size() + 1);
  const std::size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  std::string_view dir = rest.substr(0, slash);
  std::string_view tail = rest.substr(slash + 1);
  if (dir == kEtcdArchiveDir) {
    const std::size_t sub_end = tail.find('/');
    if (sub_end == std::string_view::npos || !is_plain(tail.substr(0, sub_end)) ||
        !is_plain(tail.substr(sub_end + 1))) {
      return std::nullopt;
    }
    return std::string(rest);
  }
  if (!is_plain(tail)) return std::nullopt;
  for (const KindDir& k : kKinds) {
    if (k.dir == dir) return fmt::format("{}{}{}", k.file_prefix, tail, kJson);
  }
  return std::nullopt;
}

std::string etcd_dir_prefix(std::string_view prefix, std::string_view dir) {
  return fmt::format("{}/{}/", prefix, dir);
}

std::string etcd_totals_key(std::string_view prefix) {
  return fmt::format("{}/{}", prefix, kEtcdTotalsKey);
}

std::string etcd_leader_key(std::string_view prefix) {
  return fmt::format("{}/{}", prefix, kEtcdLeaderKey);
}

ArchivedTotals parse_archived_totals(std::string_view value) {
  ArchivedTotals t;
  json doc = parse_json_or_discarded(value);
  if (doc.is_discarded() || !doc.is_object()) return t;
  t.succeeded = count_member(doc, "succeeded");
  t.failed = count_member(doc, "failed");
  t.telemetry = count_member(doc, "telemetry");
  return t;
}

std::string dump_archived_totals(const ArchivedTotals& totals) {
  return json{
      {"succeeded", totals.succeeded}, {"failed", totals.failed}, {"telemetry", totals.telemetry}}
      .dump();
}

namespace detail {

Result<std::vector<etcd::KeyValue>> range_all(etcd::Client& client, const std::string& key_prefix,
                                              std::int64_t revision, std::int64_t* read_revision,
                                              bool keys_only, std::int64_t page_size) {
  std::vector<etcd::KeyValue> out;
  const std::string end = etcd::prefix_end(key_prefix);
  std::string from = key_prefix;
  for (;;) {
    etcd::RangeOptions opt;
    opt.range_end = end;
    opt.limit = page_size;
    opt.revision = revision;
    opt.keys_only = keys_only;
    Result<etcd::RangeResult> page = client.range(from, opt);
    if (!page.ok()) return page.status();
    if (revision == 0) revision = page->revision;
    const bool more = page->more && !page->kvs.empty();
    if (more) from = page->kvs.back().key + std::string(1, '\0');
    for (etcd::KeyValue& kv : page->kvs) out.push_back(std::move(kv));
    if (!more) break;
  }
  if (read_revision != nullptr) *read_revision = revision;
  return out;
}

Result<KeysRead> get_keys(etcd::Client& client, const std::vector<std::string>& keys) {
  std::vector<etcd::TxnOp> gets;
  gets.reserve(keys.size());
  for (const std::string& k : keys) gets.push_back(etcd::TxnOp::get(k));
  Result<etcd::TxnResult> r = client.txn({}, gets);
  if (!r.ok()) return r.status();
  if (r->ranges.size() != keys.size()) {
    return Status(ErrorCode::kCorrupt, fmt::format("etcd answered {} reads with {} results",
                                                   keys.size(), r->ranges.size()));
  }
  KeysRead out;
  out.revision = r->revision;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    std::optional<etcd::KeyValue> kv;
    for (etcd::KeyValue& found : r->ranges[i].kvs) {
      if (found.key == keys[i]) kv = std::move(found);
    }
    out.kvs.push_back(std::move(kv));
  }
  return out;
}

std::string first_free_archive_name(std::string_view sub, std::string_view file,
                                    const std::vector<std::string>& taken) {
  const std::set<std::string_view> used(taken.begin(), taken.end());
  const std::string_view stem =
      file.ends_with(kJson) ? file.substr(0, file.size() - kJson.size()) : file;
  std::string name = fmt::format("{}/{}/{}", kEtcdArchiveDir, sub, file);
  for (int n = 1; used.contains(name); ++n) {
    name = fmt::format("{}/{}/{}.{}.json", kEtcdArchiveDir, sub, stem, n);
  }
  return name;
}

Result<std::string> free_archive_name(etcd::Client& client, std::string_view prefix,
                                      std::string_view sub, std::string_view file) {
  const std::string_view stem =
      file.ends_with(kJson) ? file.substr(0, file.size() - kJson.size()) : file;
  // Every name the directory could pick starts with the stem: "<stem>.json", "<stem>.<n>.json".
  const std::string dir = fmt::format("{}/{}/{}/", prefix, kEtcdArchiveDir, sub);
  Result<std::vector<etcd::KeyValue>> kvs =
      range_all(client, dir + std::string(stem) + ".", 0, nullptr, /*keys_only=*/true);
  if (!kvs.ok()) return kvs.status();
  std::vector<std::string> taken;
  taken.reserve(kvs->size());
  for (const etcd::KeyValue& kv : *kvs) {
    if (auto f = file_for_key(prefix, kv.key)) taken.push_back(std::move(*f));
  }
  return first_free_archive_name(sub, file, taken);
}

}  // namespace detail
}  // namespace dslmodel::store

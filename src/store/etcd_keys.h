// The coordination state in etcd: its key layout, and the reads the etcd store and work queue
// share (private to src/store).
//
// Under a prefix P (e.g. "/dslmodel", no trailing slash), one key per record of the coordination
// directory, whose value is exactly the JSON text the directory would hold in that file:
//   P/agent/<id>            agent_<id>.json
//   P/work/<id>             work_<id>.json
//   P/completed/<id>        completed_<id>.json
//   P/telemetry/<id>        telemetry_<id>.json
//   P/dead/<id>             dead_<id>.json
//   P/archive/<sub>/<file>  archive/<sub>/<file>: done (work of finished items), retried (failed
//                           completions put back in the queue), completed and telemetry
//                           (compacted history), undone (retries taken back by an undo)
//   P/state/totals          running totals of the completed and telemetry records archived,
//                           {"succeeded":n,"failed":n,"telemetry":n} (ArchivedTotals)
//   P/state/settings        operator settings (the remediation switch), as .dsl/settings.json
//   P/leader                the leader elector's key; its create_revision is the leader epoch
//   P/journal/<seq>         the decision journal (journal/etcd_journal.h)
//   P/pool/desired          the agent count the leader wants (store/etcd_pool.h)
//   P/pool/member/<id>      each `dsl agent pool` and what it runs, under the pool's lease
// An <id> is any non-empty text without '/' or NUL; a <sub> or <file> likewise.
//
// The key functions are pure. The detail:: reads call the etcd client and fail as it does
// (kUnavailable when etcd cannot be reached, kTimeout, kCorrupt, kInvalidArgument). Everything
// here is thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dslmodel/snapshot.h"
#include "dslmodel/status.h"
#include "etcd/client.h"

namespace dslmodel::store {

// The directories of record kinds under the prefix.
inline constexpr std::string_view kEtcdAgentDir = "agent";
inline constexpr std::string_view kEtcdWorkDir = "work";
inline constexpr std::string_view kEtcdCompletedDir = "completed";
inline constexpr std::string_view kEtcdTelemetryDir = "telemetry";
inline constexpr std::string_view kEtcdDeadDir = "dead";
inline constexpr std::string_view kEtcdArchiveDir = "archive";
// Key suffixes of the archived totals and the leader key.
inline constexpr std::string_view kEtcdTotalsKey = "state/totals";
inline constexpr std::string_view kEtcdLeaderKey = "leader";

// The key of a record file name: "work_7.json" → P/work/7, "archive/done/work_7.json" →
// P/archive/done/work_7.json. nullopt for any other name (no such kind, an empty id, a '/' in
// the id, a nested archive path).
std::optional<std::string> key_for_file(std::string_view prefix, std::string_view file);

// The inverse of key_for_file: P/work/7 → "work_7.json". nullopt for a key that is not a record
// key under `prefix` (P/leader, P/state/totals, P/work/a/b, another prefix).
std::optional<std::string> file_for_key(std::string_view prefix, std::string_view key);

// "P/<dir>/": the range of one kind of record, e.g. etcd_dir_prefix(P, kEtcdWorkDir).
std::string etcd_dir_prefix(std::string_view prefix, std::string_view dir);

// P/state/totals and P/leader.
std::string etcd_totals_key(std::string_view prefix);
std::string etcd_leader_key(std::string_view prefix);

// The ArchivedTotals of a P/state/totals value; zeros for missing or malformed fields.
ArchivedTotals parse_archived_totals(std::string_view value);
// The P/state/totals value of `totals`.
std::string dump_archived_totals(const ArchivedTotals& totals);

namespace detail {

// Every key starting with `key_prefix`, read at `revision` (0: the newest) in pages of
// `page_size`, all at the revision of the first page. `*read_revision`, when given, is set to
// that revision.
Result<std::vector<etcd::KeyValue>> range_all(etcd::Client& client, const std::string& key_prefix,
                                              std::int64_t revision,
                                              std::int64_t* read_revision = nullptr,
                                              bool keys_only = false,
                                              std::int64_t page_size = 2000);

// Reads `keys` at one revision, in one request; nullopt for a key that does not exist.
struct KeysRead {
  std::vector<std::optional<etcd::KeyValue>> kvs;  // one per key, in order
  std::int64_t revision = 0;
};
Result<KeysRead> get_keys(etcd::Client& client, const std::vector<std::string>& keys);

// The first free name for `file` under archive/<sub>/ as it stands now: "archive/<sub>/<file>",
// else "archive/<sub>/<stem>.<n>.json" (n = 1, 2, ...), as the directory names them. The caller
// creates it in a transaction that compares it absent. REQUIRES: `file` is a plain name.
Result<std::string> free_archive_name(etcd::Client& client, std::string_view prefix,
                                      std::string_view sub, std::string_view file);

// The first free archive name given the names already taken under archive/<sub>/ (as files,
// e.g. "archive/done/work_1.json").
std::string first_free_archive_name(std::string_view sub, std::string_view file,
                                    const std::vector<std::string>& taken);

}  // namespace detail
}  // namespace dslmodel::store

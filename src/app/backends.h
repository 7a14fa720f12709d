// The adapters a configuration names: the coordination store, its work queue, the journal and
// the leader elector, on the directory (default) or on etcd (store.url = "etcd://...").
//
// Every function returns a fresh object; objects made for one etcd URL share nothing but the
// server. Errors: kInvalidArgument for a bad store URL (the message names it). Nothing here
// touches the network or the disk: the first use of an object does.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "dslmodel/clock.h"
#include "dslmodel/config.h"
#include "dslmodel/journal.h"
#include "dslmodel/leader.h"
#include "dslmodel/status.h"
#include "dslmodel/store.h"
#include "dslmodel/work_queue.h"

namespace dslmodel {

// True when the configuration names an etcd store.
bool uses_etcd(const Config& config);

// Checks store.url: empty, or "etcd://host:port[,host:port...]/prefix".
Status validate_store_url(const std::string& url);

Result<std::unique_ptr<CoordinationStore>> make_store(const Config& config);

// The journal beside the store: <state dir>/journal.jsonl for a directory, keys under the prefix
// for etcd.
Result<std::unique_ptr<Journal>> make_journal(const Config& config, const CoordinationStore& store);

// `clock` (may be null: the system clock) must outlive the queue.
Result<std::unique_ptr<WorkQueue>> make_work_queue(const Config& config,
                                                   const Clock* clock = nullptr);

// A lock on <dir>/.dsl/leader.lock for a directory, an etcd lease for etcd. Campaigns from now
// on. `id` empty: ha.id, else "<host>-<pid>".
Result<std::unique_ptr<LeaderElector>> make_elector(const Config& config);

// Writes one telemetry record (file name as in the directory, e.g. "telemetry_otlp-1-2.json") into
// the etcd store; empty for a directory store, whose records are files. Thread-safe.
std::function<Status(const std::string& name, std::string_view data)> telemetry_sink(
    const Config& config);

// etcd only: the value at PREFIX/<name> (nullopt when absent), and writing it. For engine-wide
// state that is not a record, e.g. "state/settings".
Result<std::optional<std::string>> read_state(const Config& config, const std::string& name);
Status write_state(const Config& config, const std::string& name, const std::string& value);

// The id a replica of this process goes by: ha.id, else "<host>-<pid>".
std::string replica_id(const Config& config);

}  // namespace dslmodel

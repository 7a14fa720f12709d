// The adapters of the commands beside the engine's (whose parts dslmodel/factory.h builds): the
// work queue, the telemetry sink and engine-wide state, on the directory (default) or on etcd
// (store.url = "etcd://...").
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
#include "dslmodel/status.h"
#include "dslmodel/work_queue.h"

namespace dslmodel {

// True when the configuration names an etcd store.
bool uses_etcd(const Config& config);

// Checks store.url: empty, or "etcd://host:port[,host:port...]/prefix".
Status validate_store_url(const std::string& url);

// `clock` (may be null: the system clock) must outlive the queue.
Result<std::unique_ptr<WorkQueue>> make_work_queue(const Config& config,
                                                   const Clock* clock = nullptr);

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

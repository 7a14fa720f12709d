// The adapters a configuration names: the coordination store, its work queue, the journal and
// the leader elector, on the directory (default) or on etcd (store.url = "etcd://...").
//
// Every function returns a fresh object; objects made for one etcd URL share nothing but the
// server. Errors: kInvalidArgument for a bad store URL (the message names it). Nothing here
// touches the network or the disk: the first use of an object does.
#pragma once

#include <memory>
#include <string>

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

// The id a replica of this process goes by: ha.id, else "<host>-<pid>".
std::string replica_id(const Config& config);

}  // namespace dslmodel

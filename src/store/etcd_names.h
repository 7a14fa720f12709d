// The short names the etcd backend's sources (etcd_store.cc, etcd_requeue.cc, etcd_repair.cc,
// etcd_undo.cc) use for the JSON types and the parts of a transaction. Private to src/store:
// include it from .cc files only.
#pragma once

#include <nlohmann/json.hpp>

#include "etcd/client.h"

namespace dslmodel::store {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;
using etcd::Compare;
using etcd::KeyValue;
using etcd::TxnOp;

}  // namespace dslmodel::store

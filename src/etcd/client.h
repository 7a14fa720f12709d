// A client for etcd's v3 API over its JSON gateway (POST /v3/...), on libcurl.
//
// Keys and values are plain byte strings here; the client base64-encodes them on the wire.
// Thread-safe: one Client may be used from many threads at once (each call takes a pooled
// connection). Every call is bounded by Options::request_timeout (a watch by its own timeout).
// When several endpoints are
// given, a call that cannot connect to one tries the next.
//
// Errors: kUnavailable when no endpoint answers (etcd down, connection refused: the message names
// each endpoint and curl's error), kTimeout when a call ran out of time, kCorrupt when an answer
// cannot be understood, kInvalidArgument for an error etcd reports about the request (its message
// is kept). Reading or watching at a revision that has been compacted is kInvalidArgument with
// "compacted" in the message. kNotFound where etcd says a lease does not exist. No call throws
// (watch rethrows what its on_events throws).
//
// A call tries the endpoint that answered last first, and moves to the next only when it cannot
// connect (nothing was sent), so a write is never sent twice. Connections are kept alive and
// reused across calls and threads. Proxy environment variables are ignored.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <stop_token>
#include <string>
#include <vector>

#include "dslmodel/status.h"

namespace dslmodel::etcd {

// "etcd://host:port[,host:port...]/prefix" → endpoints "http://host:port" and the key prefix
// ("/prefix", no trailing slash; "/dslmodel" when the URL has none or it is "/"). A host without
// a port gets 2379; "[v6addr]:port" is accepted. kInvalidArgument, naming the URL and the fault,
// for another scheme, no host, an empty entry in the host list, a port outside 1-65535, user
// credentials, a query string or a fragment.
struct StoreUrl {
  std::vector<std::string> endpoints;
  std::string prefix;
};
Result<StoreUrl> parse_store_url(const std::string& url);

struct KeyValue {
  std::string key;
  std::string value;
  std::int64_t create_revision = 0;
  std::int64_t mod_revision = 0;
  std::int64_t version = 0;
  std::int64_t lease = 0;
};

struct RangeOptions {
  std::string range_end;      // empty: the one key; prefix_end(k): every key starting with k
  std::int64_t limit = 0;     // 0: no limit
  std::int64_t revision = 0;  // 0: the newest; else read as of that revision
  bool keys_only = false;
  bool count_only = false;
  bool descending = false;  // by key
};

struct RangeResult {
  std::vector<KeyValue> kvs;
  std::int64_t count = 0;     // keys in the range (may exceed kvs.size() with a limit)
  bool more = false;          // the limit cut the answer short
  std::int64_t revision = 0;  // the store's revision when this was read
};

// One comparison of a transaction (etcd's Compare).
struct Compare {
  enum class Target { kVersion, kCreateRevision, kModRevision, kValue, kLease };
  enum class Op { kEqual, kNotEqual, kGreater, kLess };
  std::string key;
  Target target = Target::kVersion;
  Op op = Op::kEqual;
  std::int64_t number = 0;  // for every target but kValue
  std::string value;        // for kValue

  static Compare version(std::string key, Op op, std::int64_t v);
  static Compare create_revision(std::string key, Op op, std::int64_t rev);
  static Compare mod_revision(std::string key, Op op, std::int64_t rev);
  static Compare lease(std::string key, Op op, std::int64_t lease_id);
  static Compare value_is(std::string key, std::string v);
  // The key does not exist (create_revision == 0).
  static Compare absent(std::string key);
};

// One operation of a transaction's branch.
struct TxnOp {
  enum class Kind { kPut, kRange, kDelete };
  Kind kind = Kind::kPut;
  std::string key;
  std::string value;       // kPut
  std::int64_t lease = 0;  // kPut
  RangeOptions range;      // kRange (range_end, limit...), kDelete (range_end)

  static TxnOp put(std::string key, std::string value, std::int64_t lease = 0);
  static TxnOp get(std::string key, RangeOptions options = {});
  static TxnOp del(std::string key, std::string range_end = "");
};

struct TxnResult {
  bool succeeded = false;
  std::int64_t revision = 0;        // the store's revision after the transaction
  std::vector<RangeResult> ranges;  // the answers of the branch's kRange ops, in order
};

struct Lease {
  std::int64_t id = 0;
  std::int64_t ttl = 0;  // seconds
};

enum class EventType { kPut, kDelete };
struct WatchEvent {
  EventType type = EventType::kPut;
  KeyValue kv;  // for kDelete: key and mod_revision only
};

struct Options {
  // Bounds each call (watch excepted: it has its own timeout) from start to answer, across all
  // the endpoints it tries. A non-positive value fails every call with kTimeout.
  std::chrono::milliseconds request_timeout{5000};
  // Bounds each attempt to open a connection to one endpoint (capped by what remains of
  // request_timeout). A non-positive value leaves only request_timeout.
  std::chrono::milliseconds connect_timeout{1000};
};

class Client {
 public:
  // Endpoints are "http://host:port"; "host:port" gets "http://", a trailing '/' is dropped and
  // blank entries are ignored. Contacts nobody. With no endpoints every call fails with
  // kInvalidArgument.
  explicit Client(std::vector<std::string> endpoints, Options options = {});
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // The endpoints as normalized by the constructor.
  const std::vector<std::string>& endpoints() const;

  Result<RangeResult> range(const std::string& key, const RangeOptions& options = {});
  // Puts key=value; returns the store's revision after the write.
  Result<std::int64_t> put(const std::string& key, const std::string& value,
                           std::int64_t lease = 0);
  Result<TxnResult> txn(const std::vector<Compare>& compares, const std::vector<TxnOp>& success,
                        const std::vector<TxnOp>& failure = {});

  // Grants a lease of ttl_seconds (etcd raises a TTL below its minimum, 2 s by default, to it;
  // Lease::ttl is what etcd granted). kInvalidArgument when ttl_seconds <= 0.
  Result<Lease> lease_grant(std::int64_t ttl_seconds);
  // Renews a lease once. Returns its TTL; kNotFound when the lease has expired or was revoked.
  Result<std::int64_t> lease_keepalive(std::int64_t lease_id);
  // Revokes a lease, deleting the keys attached to it. kNotFound when the lease does not exist
  // (expired or already revoked).
  Status lease_revoke(std::int64_t lease_id);

  // Watches [key, range_end) from start_revision (0: from now), calling on_events for each batch
  // of events, until on_events returns false, `stop` is requested, or `timeout` passes.
  // Returns ok in those cases; an error when the watch could not be set up or broke (etcd went
  // away: kUnavailable; start_revision compacted: kInvalidArgument). on_events runs on the calling
  // thread; an exception it throws ends the watch and is rethrown to the caller. A stop request
  // from another thread ends the watch at once; `timeout` bounds the whole call. Blocks.
  Status watch(const std::string& key, const std::string& range_end, std::int64_t start_revision,
               const std::function<bool(const std::vector<WatchEvent>&)>& on_events,
               std::chrono::milliseconds timeout, std::stop_token stop = {});

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The smallest key greater than every key starting with `prefix` (etcd's "prefix end").
std::string prefix_end(const std::string& prefix);

}  // namespace dslmodel::etcd

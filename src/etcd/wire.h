// The etcd v3 JSON gateway's wire format, private to the etcd module: base64, the request bodies
// Client sends, the parsers of etcd's answers, and the mapping of etcd's errors to a Status.
//
// Keys and values travel base64-encoded; int64 fields travel as JSON strings (numbers are
// accepted too); absent fields mean zero, false or empty. The parsers throw BadAnswer (or a
// nlohmann::json exception) for an answer of the wrong shape; client.cc turns both into
// kCorrupt. Everything here is a pure function of its arguments: safe from any thread.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "dslmodel/status.h"
#include "etcd/client.h"

namespace dslmodel::etcd::wire {

using Json = nlohmann::json;

// An answer from etcd that does not have the shape its request calls for.
class BadAnswer : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Standard base64 (RFC 4648, with '=' padding).
std::string base64_encode(std::string_view bytes);
// Decodes standard base64; padding is optional. nullopt for a character outside the alphabet,
// misplaced padding or a length that cannot be base64.
std::optional<std::string> base64_decode(std::string_view text);

// At most `max` bytes of `text` for an error message, as printable ASCII (other bytes become
// \xNN, line ends are dropped, "..." marks a cut), so a message is always safe to put in JSON.
std::string excerpt(std::string_view text, std::size_t max = 200);

// Request bodies.
Json range_request(const std::string& key, const RangeOptions& options);
Json put_request(const std::string& key, const std::string& value, std::int64_t lease);
Json txn_request(const std::vector<Compare>& compares, const std::vector<TxnOp>& success,
                 const std::vector<TxnOp>& failure);
Json watch_request(const std::string& key, const std::string& range_end,
                   std::int64_t start_revision);
Json lease_id_request(std::int64_t lease_id);  // {"ID":"<id>"}: keepalive, revoke

// Field readers: absent → 0 / false / empty; a field of the wrong type → BadAnswer.
std::int64_t int_field(const Json& object, const char* name);
bool bool_field(const Json& object, const char* name);
std::string bytes_field(const Json& object, const char* name);  // base64-decoded
// header.revision of an answer (0 when absent).
std::int64_t header_revision(const Json& answer);

// Answer parsers. REQUIRES: `answer` is a JSON object (BadAnswer otherwise).
KeyValue parse_kv(const Json& kv);
RangeResult parse_range(const Json& answer, std::int64_t revision_if_absent);
TxnResult parse_txn(const Json& answer);
Lease parse_lease_grant(const Json& answer);
std::vector<WatchEvent> parse_events(const Json& result);

// The error etcd put in a body, in either of the gateway's two shapes:
//   {"error":"…","message":"…","code":N}                       (unary calls)
//   {"error":{"grpc_code":N,"http_code":N,"message":"…",…}}    (streaming calls)
// nullopt when `body` is no error. `where` (e.g. the endpoint) is named in the message.
std::optional<Status> error_in(const Json& body, std::string_view where);

// A Status for a gRPC status code and etcd's message: INVALID_ARGUMENT, OUT_OF_RANGE (e.g. a
// compacted or future revision), FAILED_PRECONDITION, ALREADY_EXISTS, PERMISSION_DENIED,
// UNAUTHENTICATED, UNIMPLEMENTED → kInvalidArgument; NOT_FOUND → kNotFound; DEADLINE_EXCEEDED →
// kTimeout; DATA_LOSS → kCorrupt; everything else (UNAVAILABLE, INTERNAL, …) → kUnavailable.
Status status_from_grpc(int grpc_code, std::string message);

// A Status for a non-200 HTTP answer: etcd's own error when the body holds one, else one made
// from the HTTP status (4xx → kInvalidArgument, others → kUnavailable).
Status status_from_http(long http_status, std::string_view body, std::string_view where);

}  // namespace dslmodel::etcd::wire

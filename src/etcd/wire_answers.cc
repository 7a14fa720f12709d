// The etcd wire format's decoding side (etcd/wire.h): the field readers, the parsers of etcd's
// answers, etcd's errors as a Status and the excerpts of a body that error messages quote.
// Request bodies and base64 are wire.cc.
#include <fmt/format.h>

#include <charconv>
#include <system_error>
#include <utility>

#include "core/json_text.h"
#include "etcd/wire.h"

namespace dslmodel::etcd::wire {
namespace {

const Json& object_at(const Json& parent, const char* name) {
  static const Json kEmpty = Json::object();
  auto it = parent.find(name);
  if (it == parent.end() || it->is_null()) return kEmpty;
  if (!it->is_object()) throw BadAnswer(fmt::format("field '{}' is not an object", name));
  return *it;
}

void require_object(const Json& j, const char* what) {
  if (!j.is_object()) throw BadAnswer(fmt::format("{} is not a JSON object", what));
}

std::string text_of(const Json& object, const char* name) {
  auto it = object.find(name);
  if (it == object.end() || !it->is_string()) return {};
  return it->get<std::string>();
}

}  // namespace

std::string excerpt(std::string_view text, std::size_t max) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) {
    text.remove_suffix(1);
  }
  std::string out;
  for (std::size_t i = 0; i < text.size() && i < max; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else if (c == '\n' || c == '\r' || c == '\t') {
      out += ' ';
    } else {
      out += fmt::format("\\x{:02x}", c);
    }
  }
  if (text.size() > max) out += "...";
  return out;
}

std::int64_t int_field(const Json& object, const char* name) {
  auto it = object.find(name);
  if (it == object.end() || it->is_null()) return 0;
  if (it->is_number_integer()) return it->get<std::int64_t>();
  if (it->is_string()) {
    const auto& s = it->get_ref<const std::string&>();
    std::int64_t v = 0;
    const char* end = s.data() + s.size();
    auto [ptr, ec] = std::from_chars(s.data(), end, v);
    if (ec == std::errc() && ptr == end && !s.empty()) return v;
  }
  throw BadAnswer(fmt::format("field '{}' is not an int64: {}", name, it->dump()));
}

bool bool_field(const Json& object, const char* name) {
  auto it = object.find(name);
  if (it == object.end() || it->is_null()) return false;
  if (it->is_boolean()) return it->get<bool>();
  throw BadAnswer(fmt::format("field '{}' is not a boolean: {}", name, it->dump()));
}

std::string bytes_field(const Json& object, const char* name) {
  auto it = object.find(name);
  if (it == object.end() || it->is_null()) return {};
  if (it->is_string()) {
    if (auto v = base64_decode(it->get_ref<const std::string&>())) return std::move(*v);
  }
  throw BadAnswer(fmt::format("field '{}' is not base64: {}", name, it->dump()));
}

std::int64_t header_revision(const Json& answer) {
  return int_field(object_at(answer, "header"), "revision");
}

KeyValue parse_kv(const Json& kv) {
  require_object(kv, "a key-value");
  KeyValue out;
  out.key = bytes_field(kv, "key");
  out.value = bytes_field(kv, "value");
  out.create_revision = int_field(kv, "create_revision");
  out.mod_revision = int_field(kv, "mod_revision");
  out.version = int_field(kv, "version");
  out.lease = int_field(kv, "lease");
  return out;
}

RangeResult parse_range(const Json& answer, std::int64_t revision_if_absent) {
  require_object(answer, "a range answer");
  RangeResult r;
  if (auto it = answer.find("kvs"); it != answer.end() && !it->is_null()) {
    if (!it->is_array()) throw BadAnswer("field 'kvs' is not an array");
    r.kvs.reserve(it->size());
    for (const auto& kv : *it) r.kvs.push_back(parse_kv(kv));
  }
  r.count = int_field(answer, "count");
  r.more = bool_field(answer, "more");
  r.revision = header_revision(answer);
  if (r.revision == 0) r.revision = revision_if_absent;
  return r;
}

TxnResult parse_txn(const Json& answer) {
  require_object(answer, "a txn answer");
  TxnResult t;
  t.succeeded = bool_field(answer, "succeeded");
  t.revision = header_revision(answer);
  if (auto it = answer.find("responses"); it != answer.end() && !it->is_null()) {
    if (!it->is_array()) throw BadAnswer("field 'responses' is not an array");
    for (const auto& resp : *it) {
      require_object(resp, "a txn response");
      if (auto rr = resp.find("response_range"); rr != resp.end()) {
        t.ranges.push_back(parse_range(*rr, t.revision));
      }
    }
  }
  return t;
}

Lease parse_lease_grant(const Json& answer) {
  require_object(answer, "a lease grant answer");
  Lease l;
  l.id = int_field(answer, "ID");
  l.ttl = int_field(answer, "TTL");
  if (l.id == 0) throw BadAnswer("lease grant answered without a lease ID");
  return l;
}

std::vector<WatchEvent> parse_events(const Json& result) {
  require_object(result, "a watch result");
  std::vector<WatchEvent> events;
  auto it = result.find("events");
  if (it == result.end() || it->is_null()) return events;
  if (!it->is_array()) throw BadAnswer("field 'events' is not an array");
  events.reserve(it->size());
  for (const auto& e : *it) {
    require_object(e, "a watch event");
    WatchEvent ev;
    const std::string type = text_of(e, "type");
    if (type == "DELETE") {
      ev.type = EventType::kDelete;
    } else if (type.empty() || type == "PUT") {
      ev.type = EventType::kPut;
    } else {
      throw BadAnswer(fmt::format("unknown watch event type '{}'", type));
    }
    ev.kv = parse_kv(object_at(e, "kv"));
    events.push_back(std::move(ev));
  }
  return events;
}

std::optional<Status> error_in(const Json& body, std::string_view where) {
  if (!body.is_object()) return std::nullopt;
  auto err = body.find("error");
  if (err != body.end() && err->is_object()) {
    // Streaming shape: {"error":{"grpc_code":N,"http_code":N,"message":"…"}}.
    const int code = static_cast<int>(err->value("grpc_code", 2));
    std::string message = text_of(*err, "message");
    if (message.empty()) message = err->dump();
    return status_from_grpc(code, fmt::format("etcd at {}: {}", where, message));
  }
  auto code = body.find("code");
  const bool has_error_text =
      err != body.end() && err->is_string() && !err->get_ref<const std::string&>().empty();
  if ((code != body.end() && code->is_number_integer() && body.contains("message")) ||
      (has_error_text && !body.contains("header"))) {
    // Unary shape: {"error":"…","message":"…","code":N}.
    std::string message = text_of(body, "message");
    if (message.empty()) message = text_of(body, "error");
    const int grpc = code != body.end() && code->is_number_integer() ? code->get<int>() : 2;
    return status_from_grpc(grpc, fmt::format("etcd at {}: {}", where, message));
  }
  if (has_error_text) {
    // An answer with a header and an "error" text (LeaseGrantResponse.error): etcd refused.
    return Status(ErrorCode::kInvalidArgument,
                  fmt::format("etcd at {}: {}", where, err->get_ref<const std::string&>()));
  }
  return std::nullopt;
}

Status status_from_grpc(int grpc_code, std::string message) {
  ErrorCode code = ErrorCode::kUnavailable;
  switch (grpc_code) {
    case 3:   // INVALID_ARGUMENT
    case 6:   // ALREADY_EXISTS
    case 7:   // PERMISSION_DENIED
    case 9:   // FAILED_PRECONDITION
    case 11:  // OUT_OF_RANGE (compacted or future revision)
    case 12:  // UNIMPLEMENTED
    case 16:  // UNAUTHENTICATED
      code = ErrorCode::kInvalidArgument;
      break;
    case 5:  // NOT_FOUND
      code = ErrorCode::kNotFound;
      break;
    case 4:  // DEADLINE_EXCEEDED
      code = ErrorCode::kTimeout;
      break;
    case 15:  // DATA_LOSS
      code = ErrorCode::kCorrupt;
      break;
    default:  // CANCELLED, UNKNOWN, RESOURCE_EXHAUSTED, ABORTED, INTERNAL, UNAVAILABLE
      code = ErrorCode::kUnavailable;
      break;
  }
  return Status(code, std::move(message));
}

Status status_from_http(long http_status, std::string_view body, std::string_view where) {
  Json j = parse_json_or_discarded(body);
  if (!j.is_discarded()) {
    if (auto e = error_in(j, where)) return *e;
  }
  std::string text = excerpt(body);
  const ErrorCode code = http_status >= 400 && http_status < 500 ? ErrorCode::kInvalidArgument
                                                                 : ErrorCode::kUnavailable;
  if (text.empty()) text = "(empty body)";
  return Status(code, fmt::format("etcd at {} answered HTTP {}: {}", where, http_status, text));
}

}  // namespace dslmodel::etcd::wire

#include "etcd/wire.h"

#include <fmt/format.h>

#include <array>
#include <charconv>
#include <system_error>
#include <utility>

#include "core/json_text.h"

namespace dslmodel::etcd::wire {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::uint8_t kNotBase64 = 0xff;

constexpr std::array<std::uint8_t, 256> make_decode_table() {
  std::array<std::uint8_t, 256> t{};
  for (auto& v : t) v = kNotBase64;
  for (int i = 0; i < 64; ++i)
    t[static_cast<unsigned char>(kAlphabet[i])] = static_cast<std::uint8_t>(i);
  return t;
}
constexpr std::array<std::uint8_t, 256> kDecode = make_decode_table();

std::string i64(std::int64_t v) { return std::to_string(v); }

const char* target_name(Compare::Target t) {
  switch (t) {
    case Compare::Target::kVersion:
      return "VERSION";
    case Compare::Target::kCreateRevision:
      return "CREATE";
    case Compare::Target::kModRevision:
      return "MOD";
    case Compare::Target::kValue:
      return "VALUE";
    case Compare::Target::kLease:
      return "LEASE";
  }
  return "VERSION";
}

const char* target_field(Compare::Target t) {
  switch (t) {
    case Compare::Target::kVersion:
      return "version";
    case Compare::Target::kCreateRevision:
      return "create_revision";
    case Compare::Target::kModRevision:
      return "mod_revision";
    case Compare::Target::kValue:
      return "value";
    case Compare::Target::kLease:
      return "lease";
  }
  return "version";
}

const char* op_name(Compare::Op op) {
  switch (op) {
    case Compare::Op::kEqual:
      return "EQUAL";
    case Compare::Op::kNotEqual:
      return "NOT_EQUAL";
    case Compare::Op::kGreater:
      return "GREATER";
    case Compare::Op::kLess:
      return "LESS";
  }
  return "EQUAL";
}

Json compare_json(const Compare& c) {
  Json j = {
      {"key", base64_encode(c.key)}, {"target", target_name(c.target)}, {"result", op_name(c.op)}};
  if (c.target == Compare::Target::kValue) {
    j["value"] = base64_encode(c.value);
  } else {
    j[target_field(c.target)] = i64(c.number);
  }
  return j;
}

Json op_json(const TxnOp& op) {
  switch (op.kind) {
    case TxnOp::Kind::kPut:
      return {{"request_put", put_request(op.key, op.value, op.lease)}};
    case TxnOp::Kind::kRange:
      return {{"request_range", range_request(op.key, op.range)}};
    case TxnOp::Kind::kDelete: {
      Json d = {{"key", base64_encode(op.key)}};
      if (!op.range.range_end.empty()) d["range_end"] = base64_encode(op.range.range_end);
      return {{"request_delete_range", std::move(d)}};
    }
  }
  return Json::object();
}

Json ops_json(const std::vector<TxnOp>& ops) {
  Json a = Json::array();
  for (const auto& op : ops) a.push_back(op_json(op));
  return a;
}

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

std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const auto b0 = static_cast<unsigned char>(bytes[i]);
    const auto b1 = static_cast<unsigned char>(bytes[i + 1]);
    const auto b2 = static_cast<unsigned char>(bytes[i + 2]);
    out += kAlphabet[b0 >> 2];
    out += kAlphabet[((b0 & 0x03) << 4) | (b1 >> 4)];
    out += kAlphabet[((b1 & 0x0f) << 2) | (b2 >> 6)];
    out += kAlphabet[b2 & 0x3f];
  }
  const std::size_t rest = bytes.size() - i;
  if (rest == 1) {
    const auto b0 = static_cast<unsigned char>(bytes[i]);
    out += kAlphabet[b0 >> 2];
    out += kAlphabet[(b0 & 0x03) << 4];
    out += "==";
  } else if (rest == 2) {
    const auto b0 = static_cast<unsigned char>(bytes[i]);
    const auto b1 = static_cast<unsigned char>(bytes[i + 1]);
    out += kAlphabet[b0 >> 2];
    out += kAlphabet[((b0 & 0x03) << 4) | (b1 >> 4)];
    out += kAlphabet[(b1 & 0x0f) << 2];
    out += '=';
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  std::size_t padding = 0;
  while (!text.empty() && text.back() == '=' && padding < 2) {
    text.remove_suffix(1);
    ++padding;
  }
  if (text.size() % 4 == 1) return std::nullopt;
  if (padding > 0 && (text.size() + padding) % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(text.size() / 4 * 3 + 2);
  std::uint32_t acc = 0;
  int bits = 0;
  for (char ch : text) {
    const std::uint8_t v = kDecode[static_cast<unsigned char>(ch)];
    if (v == kNotBase64) return std::nullopt;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  // Leftover bits of the last group must be zero in canonical base64; etcd only sends canonical.
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

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

Json range_request(const std::string& key, const RangeOptions& o) {
  Json j = {{"key", base64_encode(key)}};
  if (!o.range_end.empty()) j["range_end"] = base64_encode(o.range_end);
  if (o.limit > 0) j["limit"] = i64(o.limit);
  if (o.revision > 0) j["revision"] = i64(o.revision);
  if (o.descending) {
    j["sort_order"] = "DESCEND";
    j["sort_target"] = "KEY";
  }
  if (o.keys_only) j["keys_only"] = true;
  if (o.count_only) j["count_only"] = true;
  return j;
}

Json put_request(const std::string& key, const std::string& value, std::int64_t lease) {
  Json j = {{"key", base64_encode(key)}, {"value", base64_encode(value)}};
  if (lease != 0) j["lease"] = i64(lease);
  return j;
}

Json txn_request(const std::vector<Compare>& compares, const std::vector<TxnOp>& success,
                 const std::vector<TxnOp>& failure) {
  Json c = Json::array();
  for (const auto& cmp : compares) c.push_back(compare_json(cmp));
  return {
      {"compare", std::move(c)}, {"success", ops_json(success)}, {"failure", ops_json(failure)}};
}

Json watch_request(const std::string& key, const std::string& range_end,
                   std::int64_t start_revision) {
  Json create = {{"key", base64_encode(key)}};
  if (!range_end.empty()) create["range_end"] = base64_encode(range_end);
  if (start_revision > 0) create["start_revision"] = i64(start_revision);
  return {{"create_request", std::move(create)}};
}

Json lease_id_request(std::int64_t lease_id) { return {{"ID", i64(lease_id)}}; }

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

// The etcd wire format's encoding side (etcd/wire.h): base64 both ways and the request bodies
// Client sends. Reading etcd's answers and errors is wire_answers.cc.
#include "etcd/wire.h"

#include <array>
#include <utility>

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

}  // namespace dslmodel::etcd::wire

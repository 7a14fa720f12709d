#include "etcd/client.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <exception>
#include <optional>
#include <string_view>
#include <utility>
#include <variant>

#include "core/json_text.h"
#include "etcd/transport.h"
#include "etcd/wire.h"

namespace dslmodel::etcd {
namespace {

using wire::Json;

constexpr char kUrlShape[] = "etcd://host:port[,host:port...]/prefix";
constexpr char kDefaultPrefix[] = "/dslmodel";
constexpr char kDefaultPort[] = "2379";

using wire::excerpt;

// Runs f, turning every exception into a Status: the API never throws.
template <typename T, typename F>
Result<T> guarded(std::string_view what, F&& f) {
  try {
    return f();
  } catch (const wire::BadAnswer& e) {
    return Status(ErrorCode::kCorrupt,
                  fmt::format("etcd: unexpected answer to {}: {}", what, e.what()));
  } catch (const nlohmann::json::exception& e) {
    return Status(ErrorCode::kCorrupt,
                  fmt::format("etcd: unexpected answer to {}: {}", what, e.what()));
  } catch (const std::exception& e) {
    return Status(ErrorCode::kUnavailable, fmt::format("etcd: {} failed: {}", what, e.what()));
  }
}

std::vector<std::string> normalize_endpoints(std::vector<std::string> endpoints) {
  std::vector<std::string> out;
  out.reserve(endpoints.size());
  for (auto& e : endpoints) {
    const auto first = e.find_first_not_of(" \t");
    if (first == std::string::npos) continue;
    e.erase(0, first);
    while (!e.empty() && (e.back() == '/' || e.back() == ' ' || e.back() == '\t')) e.pop_back();
    if (e.empty()) continue;
    if (e.find("://") == std::string::npos) e.insert(0, "http://");
    out.push_back(std::move(e));
  }
  return out;
}

bool valid_host_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '-' || c == '_';
}

// "host:port", "host" (port 2379) or "[v6]:port" → "http://host:port"; an error text otherwise.
std::variant<std::string, std::string> parse_host_port(std::string_view hp) {
  using Out = std::variant<std::string, std::string>;
  auto fail = [](std::string why) { return Out(std::in_place_index<1>, std::move(why)); };
  if (hp.empty()) return fail("empty host in the host list");
  if (hp.find('@') != std::string_view::npos)
    return fail("credentials in the URL are not supported");
  std::string_view host;
  std::string_view port;
  bool has_port = false;
  if (hp.front() == '[') {
    const auto close = hp.find(']');
    if (close == std::string_view::npos || close == 1) {
      return fail(fmt::format("bad IPv6 host '{}'", hp));
    }
    host = hp.substr(0, close + 1);
    const auto rest = hp.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return fail(fmt::format("bad host '{}'", hp));
      port = rest.substr(1);
      has_port = true;
    }
    for (char c : host.substr(1, host.size() - 2)) {
      if (std::isxdigit(static_cast<unsigned char>(c)) == 0 && c != ':' && c != '.') {
        return fail(fmt::format("bad IPv6 host '{}'", hp));
      }
    }
  } else {
    const auto colon = hp.rfind(':');
    host = hp.substr(0, colon);
    if (colon != std::string_view::npos) {
      port = hp.substr(colon + 1);
      has_port = true;
    }
    if (host.empty()) return fail(fmt::format("no host name in '{}'", hp));
    if (!std::all_of(host.begin(), host.end(), valid_host_char)) {
      return fail(fmt::format("bad host name '{}'", host));
    }
  }
  if (has_port) {
    int value = 0;
    const char* end = port.data() + port.size();
    auto [ptr, ec] = std::from_chars(port.data(), end, value);
    if (port.empty() || ec != std::errc() || ptr != end || value < 1 || value > 65535 ||
        port.front() == '+' || port.front() == '-') {
      return fail(fmt::format("bad port '{}' in '{}' (expected 1-65535)", port, hp));
    }
  } else {
    port = kDefaultPort;
  }
  return Out(std::in_place_index<0>, fmt::format("http://{}:{}", host, port));
}

}  // namespace

Result<StoreUrl> parse_store_url(const std::string& url) {
  auto bad = [&url](const std::string& why) {
    return Status(ErrorCode::kInvalidArgument,
                  fmt::format("store URL '{}': {} (expected {})", url, why, kUrlShape));
  };
  const auto sep = url.find("://");
  if (sep == std::string::npos) return bad("not a URL");
  std::string scheme = url.substr(0, sep);
  std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (scheme != "etcd") return bad(fmt::format("unsupported scheme '{}'", url.substr(0, sep)));
  const std::string_view rest = std::string_view(url).substr(sep + 3);
  if (rest.find_first_of("?#") != std::string_view::npos) {
    return bad("query strings and fragments are not supported");
  }
  const auto slash = rest.find('/');
  const std::string_view hosts = rest.substr(0, slash);
  if (hosts.empty()) return bad("no host");

  StoreUrl out;
  std::size_t start = 0;
  while (start <= hosts.size()) {
    auto comma = hosts.find(',', start);
    if (comma == std::string_view::npos) comma = hosts.size();
    auto parsed = parse_host_port(hosts.substr(start, comma - start));
    if (parsed.index() == 1) return bad(std::get<1>(parsed));
    out.endpoints.push_back(std::move(std::get<0>(parsed)));
    start = comma + 1;
  }
  std::string prefix =
      slash == std::string_view::npos ? std::string() : std::string(rest.substr(slash));
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  out.prefix = prefix.empty() ? std::string(kDefaultPrefix) : std::move(prefix);
  return out;
}

std::string prefix_end(const std::string& prefix) {
  std::string end = prefix;
  while (!end.empty()) {
    const auto last = static_cast<unsigned char>(end.back());
    if (last < 0xff) {
      end.back() = static_cast<char>(last + 1);
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');
}

Compare Compare::version(std::string key, Op op, std::int64_t v) {
  Compare c;
  c.key = std::move(key);
  c.target = Target::kVersion;
  c.op = op;
  c.number = v;
  return c;
}

Compare Compare::create_revision(std::string key, Op op, std::int64_t rev) {
  Compare c = version(std::move(key), op, rev);
  c.target = Target::kCreateRevision;
  return c;
}

Compare Compare::mod_revision(std::string key, Op op, std::int64_t rev) {
  Compare c = version(std::move(key), op, rev);
  c.target = Target::kModRevision;
  return c;
}

Compare Compare::lease(std::string key, Op op, std::int64_t lease_id) {
  Compare c = version(std::move(key), op, lease_id);
  c.target = Target::kLease;
  return c;
}

Compare Compare::value_is(std::string key, std::string v) {
  Compare c;
  c.key = std::move(key);
  c.target = Target::kValue;
  c.op = Op::kEqual;
  c.value = std::move(v);
  return c;
}

Compare Compare::absent(std::string key) { return create_revision(std::move(key), Op::kEqual, 0); }

TxnOp TxnOp::put(std::string key, std::string value, std::int64_t lease) {
  TxnOp op;
  op.kind = Kind::kPut;
  op.key = std::move(key);
  op.value = std::move(value);
  op.lease = lease;
  return op;
}

TxnOp TxnOp::get(std::string key, RangeOptions options) {
  TxnOp op;
  op.kind = Kind::kRange;
  op.key = std::move(key);
  op.range = std::move(options);
  return op;
}

TxnOp TxnOp::del(std::string key, std::string range_end) {
  TxnOp op;
  op.kind = Kind::kDelete;
  op.key = std::move(key);
  op.range.range_end = std::move(range_end);
  return op;
}

struct Client::Impl {
  Impl(std::vector<std::string> endpoints, Options options)
      : transport(std::move(endpoints), options) {}

  // POSTs `request` to `path` and returns etcd's answer: a JSON object that is no error. For a
  // streaming call answered with newline-delimited JSON, its first line, unwrapped from
  // {"result":…}.
  Result<Json> call(std::string_view path, const Json& request) {
    auto reply = transport.post(path, dump_json(request));
    if (!reply.ok()) return reply.status();
    if (reply->status != 200) {
      return wire::status_from_http(reply->status, reply->body, reply->endpoint);
    }
    std::string_view text = reply->body;
    const auto begin = text.find_first_not_of(" \t\r\n");
    text = begin == std::string_view::npos ? std::string_view() : text.substr(begin);
    if (const auto nl = text.find('\n'); nl != std::string_view::npos) text = text.substr(0, nl);
    Json answer = parse_json_or_discarded(text);
    if (answer.is_discarded() || !answer.is_object()) {
      return Status(ErrorCode::kCorrupt,
                    fmt::format("etcd at {} answered POST {} with something other than a JSON "
                                "object: '{}'",
                                reply->endpoint, path, excerpt(reply->body)));
    }
    if (auto error = wire::error_in(answer, reply->endpoint)) return *error;
    if (auto it = answer.find("result"); it != answer.end() && it->is_object()) {
      Json result = std::move(*it);
      return result;
    }
    return answer;
  }

  detail::Transport transport;
};

Client::Client(std::vector<std::string> endpoints, Options options)
    : impl_(std::make_unique<Impl>(normalize_endpoints(std::move(endpoints)), options)) {}

Client::~Client() = default;

const std::vector<std::string>& Client::endpoints() const { return impl_->transport.endpoints(); }

Result<RangeResult> Client::range(const std::string& key, const RangeOptions& options) {
  return guarded<RangeResult>("range", [&]() -> Result<RangeResult> {
    auto answer = impl_->call("/v3/kv/range", wire::range_request(key, options));
    if (!answer.ok()) return answer.status();
    return wire::parse_range(*answer, 0);
  });
}

Result<std::int64_t> Client::put(const std::string& key, const std::string& value,
                                 std::int64_t lease) {
  return guarded<std::int64_t>("put", [&]() -> Result<std::int64_t> {
    auto answer = impl_->call("/v3/kv/put", wire::put_request(key, value, lease));
    if (!answer.ok()) return answer.status();
    return wire::header_revision(*answer);
  });
}

Result<TxnResult> Client::txn(const std::vector<Compare>& compares,
                              const std::vector<TxnOp>& success,
                              const std::vector<TxnOp>& failure) {
  return guarded<TxnResult>("txn", [&]() -> Result<TxnResult> {
    auto answer = impl_->call("/v3/kv/txn", wire::txn_request(compares, success, failure));
    if (!answer.ok()) return answer.status();
    return wire::parse_txn(*answer);
  });
}

Result<Lease> Client::lease_grant(std::int64_t ttl_seconds) {
  if (ttl_seconds <= 0) {
    return Status(ErrorCode::kInvalidArgument,
                  fmt::format("etcd lease grant: TTL must be positive, got {}", ttl_seconds));
  }
  return guarded<Lease>("lease grant", [&]() -> Result<Lease> {
    auto answer = impl_->call("/v3/lease/grant", Json{{"TTL", std::to_string(ttl_seconds)}});
    if (!answer.ok()) return answer.status();
    return wire::parse_lease_grant(*answer);
  });
}

Result<std::int64_t> Client::lease_keepalive(std::int64_t lease_id) {
  return guarded<std::int64_t>("lease keepalive", [&]() -> Result<std::int64_t> {
    auto answer = impl_->call("/v3/lease/keepalive", wire::lease_id_request(lease_id));
    if (!answer.ok()) return answer.status();
    const std::int64_t ttl = wire::int_field(*answer, "TTL");
    if (ttl <= 0) {
      return Status(ErrorCode::kNotFound,
                    fmt::format("etcd lease {} has expired or was revoked", lease_id));
    }
    return ttl;
  });
}

Status Client::lease_revoke(std::int64_t lease_id) {
  return guarded<bool>("lease revoke",
                       [&]() -> Result<bool> {
                         auto answer =
                             impl_->call("/v3/lease/revoke", wire::lease_id_request(lease_id));
                         if (!answer.ok()) return answer.status();
                         return true;
                       })
      .status();
}

Status Client::watch(const std::string& key, const std::string& range_end,
                     std::int64_t start_revision,
                     const std::function<bool(const std::vector<WatchEvent>&)>& on_events,
                     std::chrono::milliseconds timeout,
                     std::stop_token stop) {  // NOLINT(performance-unnecessary-value-param): API
  if (stop.stop_requested()) return Status::Ok();
  auto on_line = [&](std::string_view line) -> std::optional<Status> {
    std::vector<WatchEvent> events;
    auto parsed = guarded<bool>("watch", [&]() -> Result<bool> {
      Json message = parse_json_or_discarded(line);
      if (message.is_discarded() || !message.is_object()) {
        return Status(
            ErrorCode::kCorrupt,
            fmt::format("etcd watch sent something other than a JSON object: '{}'", excerpt(line)));
      }
      if (auto error = wire::error_in(message, "watch")) return *error;
      auto result = message.find("result");
      if (result == message.end() || !result->is_object()) {
        return Status(
            ErrorCode::kCorrupt,
            fmt::format("etcd watch sent a message without a result: '{}'", excerpt(line)));
      }
      if (wire::bool_field(*result, "canceled")) {
        const std::int64_t compacted = wire::int_field(*result, "compact_revision");
        if (compacted > 0) {
          return Status(ErrorCode::kInvalidArgument,
                        fmt::format("etcd watch from revision {}: revisions before {} have been "
                                    "compacted",
                                    start_revision, compacted));
        }
        std::string reason = result->value("cancel_reason", std::string());
        return Status(ErrorCode::kUnavailable, fmt::format("etcd canceled the watch{}{}",
                                                           reason.empty() ? "" : ": ", reason));
      }
      events = wire::parse_events(*result);
      return true;
    });
    if (!parsed.ok()) return parsed.status();
    if (events.empty()) return std::nullopt;
    if (!on_events(events)) return Status::Ok();
    return std::nullopt;
  };
  auto body = guarded<std::string>("watch", [&]() -> Result<std::string> {
    return dump_json(wire::watch_request(key, range_end, start_revision));
  });
  if (!body.ok()) return body.status();
  return impl_->transport.stream("/v3/watch", *body, on_line, timeout, stop);
}

}  // namespace dslmodel::etcd

#include "telemetry/otlp_receiver.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "core/json_text.h"
#include "platform/files.h"
#include "telemetry/prometheus.h"

namespace dslmodel::telemetry {
namespace {

using json = nlohmann::json;

constexpr std::array<const char*, 2> kScopeKeys = {"scopeSpans", "instrumentationLibrarySpans"};

Status shape_error(const std::string& path, const char* what) {
  return {ErrorCode::kCorrupt, fmt::format("{} is not {}", path, what)};
}

// The array at `key` of `obj` (nullptr when absent or null), or an error naming `path`.
Result<const json*> optional_array(const json& obj, const char* key, const std::string& path) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return static_cast<const json*>(nullptr);
  if (!it->is_array()) return shape_error(path, "an array");
  return &*it;
}

Result<std::int64_t> count_scope(const json& scope, const std::string& path) {
  if (!scope.is_object()) return shape_error(path, "an object");
  auto spans = optional_array(scope, "spans", path + ".spans");
  if (!spans.ok()) return spans.status();
  if (*spans == nullptr) return std::int64_t{0};
  std::int64_t n = 0;
  for (const json& span : **spans) {
    if (!span.is_object()) return shape_error(fmt::format("{}.spans[{}]", path, n), "an object");
    ++n;
  }
  return n;
}

Result<std::int64_t> count_resource(const json& rs, const std::string& path) {
  if (!rs.is_object()) return shape_error(path, "an object");
  std::int64_t n = 0;
  for (const char* key : kScopeKeys) {
    const std::string scopes_path = fmt::format("{}.{}", path, key);
    auto scopes = optional_array(rs, key, scopes_path);
    if (!scopes.ok()) return scopes.status();
    if (*scopes == nullptr) continue;
    std::size_t i = 0;
    for (const json& scope : **scopes) {
      auto c = count_scope(scope, fmt::format("{}[{}]", scopes_path, i++));
      if (!c.ok()) return c;
      n += *c;
    }
  }
  return n;
}

// Counts the spans of a parsed export, as the store does, after checking its shape.
Result<std::int64_t> validate_doc(const json& doc) {
  if (!doc.is_object()) return shape_error("request", "a JSON object");
  auto rss = optional_array(doc, "resourceSpans", "resourceSpans");
  if (!rss.ok()) return rss.status();
  if (*rss == nullptr) return std::int64_t{0};
  std::int64_t n = 0;
  std::size_t i = 0;
  for (const json& rs : **rss) {
    auto c = count_resource(rs, fmt::format("resourceSpans[{}]", i++));
    if (!c.ok()) return c;
    n += *c;
  }
  return n;
}

// The depth bound comes first: a span nested 100,000 levels deep is refused before any tree is
// built (core/json_text.h).
Result<json> parse(std::string_view body) { return parse_json(body); }

std::string dump(const json& j) { return dump_json(j); }

// Packs the spans of a validated export into exports whose serialization stays under `limit`.
class Splitter {
 public:
  explicit Splitter(std::size_t limit) : limit_(limit) {}

  Status add_export(const json& doc) {
    for (const json& rs : doc["resourceSpans"]) {
      json rs_head = rs;
      for (const char* key : kScopeKeys) rs_head.erase(key);
      for (const char* key : kScopeKeys) {
        auto scopes = rs.find(key);
        if (scopes == rs.end() || scopes->is_null()) continue;
        for (const json& scope : *scopes) {
          if (Status s = add_scope(rs_head, key, scope); !s.ok()) return s;
        }
      }
    }
    flush();
    return Status::Ok();
  }

  std::vector<std::string>& files() { return files_; }

 private:
  static constexpr std::size_t kOverhead = 64;  // keys, brackets and commas around each part

  Status add_scope(const json& rs_head, const char* key, const json& scope) {
    auto spans = scope.find("spans");
    if (spans == scope.end() || spans->is_null() || spans->empty()) return Status::Ok();
    json scope_head = scope;
    scope_head.erase("spans");
    const std::size_t head = dump(rs_head).size() + dump(scope_head).size() + 3 * kOverhead;
    const std::uint64_t serial = ++serial_;
    for (const json& span : *spans) {
      const std::size_t need = dump(span).size() + 1;
      if (head + need > limit_) {
        return {ErrorCode::kCorrupt,
                fmt::format("a span of {} bytes exceeds the file limit of {} bytes", need, limit_)};
      }
      if (size_ + head + need > limit_) flush();
      if (cur_.empty() || cur_serial_ != serial) {
        json rs_out = rs_head;
        json scope_out = scope_head;
        scope_out["spans"] = json::array();
        rs_out[key] = json::array({std::move(scope_out)});
        cur_.push_back(std::move(rs_out));
        size_ += head;
        cur_serial_ = serial;
      }
      cur_.back()[key].back()["spans"].push_back(span);
      size_ += need;
    }
    return Status::Ok();
  }

  void flush() {
    if (cur_.empty()) return;
    json out = json::object();
    out["resourceSpans"] = std::move(cur_);
    files_.push_back(dump(out));
    cur_ = json::array();
    size_ = kOverhead;
    cur_serial_ = 0;
  }

  const std::size_t limit_;
  std::vector<std::string> files_;
  json cur_ = json::array();
  std::size_t size_ = kOverhead;
  std::uint64_t serial_ = 0;      // one per (resource, scope) added
  std::uint64_t cur_serial_ = 0;  // the (resource, scope) the last entry of cur_ holds
};

std::int64_t unix_ms_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

bool is_tchar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// qdtext and the second octet of a quoted-pair (RFC 9110 §5.6.4): no control character.
bool is_quoted_char(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u == '\t' || (u >= 0x20 && u != 0x7f);
}

// RFC 9110 §8.3.1: media-type = type "/" subtype parameters, where
// parameters = *( OWS ";" OWS [ token "=" ( token / quoted-string ) ] ).
bool is_json_type(std::string_view v) {
  std::size_t i = 0;
  const auto token = [&] {
    const std::size_t from = i;
    while (i < v.size() && is_tchar(v[i])) ++i;
    return v.substr(from, i - from);
  };
  const auto ows = [&] {
    while (i < v.size() && (v[i] == ' ' || v[i] == '\t')) ++i;
  };
  const std::string_view type = token();
  if (i == v.size() || v[i++] != '/') return false;
  if (!iequals(type, "application") || !iequals(token(), "json")) return false;
  for (;;) {
    ows();
    if (i == v.size()) return true;
    if (v[i++] != ';') return false;
    ows();
    if (i == v.size() || v[i] == ';') continue;
    if (token().empty() || i == v.size() || v[i++] != '=') return false;
    if (i < v.size() && v[i] == '"') {
      for (++i; i < v.size() && v[i] != '"'; ++i) {
        if (v[i] == '\\' && ++i == v.size()) return false;
        if (!is_quoted_char(v[i])) return false;
      }
      if (i++ == v.size()) return false;
    } else if (token().empty()) {
      return false;
    }
  }
}

}  // namespace

Result<std::int64_t> validate_export(std::string_view body) {
  auto doc = parse(body);
  if (!doc.ok()) return doc.status();
  return validate_doc(*doc);
}

OtlpReceiver::OtlpReceiver(ReceiverConfig cfg) : cfg_(std::move(cfg)) {}

ReceiverReply OtlpReceiver::reject(int status, std::string_view message) {
  if (cfg_.requests_rejected != nullptr) cfg_.requests_rejected->inc();
  // google.rpc.Code: RESOURCE_EXHAUSTED, INTERNAL, UNIMPLEMENTED, UNAVAILABLE, INVALID_ARGUMENT
  const int code = status == 413   ? 8
                   : status == 500 ? 13
                   : status == 501 ? 12
                   : status == 503 ? 14
                                   : 3;
  json body = {{"code", code}, {"message", std::string(message)}};
  return {status, "application/json", dump(body)};
}

std::optional<ReceiverReply> OtlpReceiver::precheck(std::string_view content_type,
                                                    std::optional<std::uint64_t> content_length) {
  if (content_type.empty()) return reject(415, "missing content type: only application/json");
  if (!is_json_type(content_type)) {
    // The type is echoed escaped: it may hold any byte.
    return reject(
        415,
        fmt::format(
            "unsupported content type {}: only application/json",
            json(std::string(content_type)).dump(-1, ' ', true, json::error_handler_t::replace)));
  }
  if (content_length && *content_length > cfg_.max_body_bytes) return too_large();
  return std::nullopt;
}

ReceiverReply OtlpReceiver::too_large() {
  return reject(413,
                fmt::format("request body exceeds the limit of {} bytes", cfg_.max_body_bytes));
}

ReceiverReply OtlpReceiver::busy() {
  return reject(503, "too many requests in flight: retry later");
}

ReceiverReply OtlpReceiver::handle(std::string_view body) {
  if (body.size() > cfg_.max_body_bytes) return too_large();
  auto doc = parse(body);
  if (!doc.ok()) return reject(400, doc.status().message());
  auto spans = validate_doc(*doc);
  if (!spans.ok()) return reject(400, spans.status().message());
  if (*spans > cfg_.max_spans) {
    return reject(413, fmt::format("{} spans exceed the limit of {} spans per request", *spans,
                                   cfg_.max_spans));
  }
  if (*spans == 0) return {};
  std::vector<std::string> files;
  if (doc->size() == 1 && body.size() <= cfg_.max_file_bytes) {
    files.emplace_back(body);
  } else {
    Splitter splitter(cfg_.max_file_bytes);
    if (Status s = splitter.add_export(*doc); !s.ok()) return reject(413, s.message());
    files = std::move(splitter.files());
  }
  const std::int64_t ms = unix_ms_now();
  for (const std::string& f : files) {
    if (Status s = write_file(f, ms); !s.ok()) return reject(500, s.message());
  }
  if (cfg_.spans_received != nullptr) cfg_.spans_received->inc(static_cast<double>(*spans));
  return {};
}

Status OtlpReceiver::write_file(std::string_view data, std::int64_t unix_ms) {
  const std::uint64_t seq = seq_.fetch_add(1, std::memory_order_relaxed);
  const std::string name = fmt::format("telemetry_otlp-{}-{}.json", unix_ms, seq);
  if (cfg_.sink) return cfg_.sink(name, data);
  return platform::atomic_write_file(cfg_.dir / name, data);
}

}  // namespace dslmodel::telemetry

#include "telemetry/otlp_http_exporter.h"

#include <httplib.h>

#include <algorithm>
#include <charconv>
#include <optional>
#include <string_view>
#include <utility>

namespace dslmodel::telemetry {
namespace {

using std::chrono::milliseconds;

constexpr milliseconds kMaxConnectTimeout{1000};
constexpr milliseconds kAbortRetry{20};

struct Url {
  std::string host;
  int port = 80;
  std::string path;
};

// Splits http://host[:port][/path]; IPv6 hosts in brackets. nullopt when malformed.
std::optional<Url> parse_http_url(std::string_view url) {
  constexpr std::string_view kScheme = "http://";
  if (url.substr(0, kScheme.size()) != kScheme) return std::nullopt;
  url.remove_prefix(kScheme.size());
  const auto slash = url.find('/');
  std::string_view authority = url.substr(0, slash);
  Url out;
  out.path = slash == std::string_view::npos ? "/" : std::string(url.substr(slash));
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    out.host = std::string(authority.substr(1, close - 1));
    std::string_view rest = authority.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return std::nullopt;
    if (!rest.empty()) port = rest.substr(1);
  } else {
    const auto colon = authority.rfind(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (out.host.empty()) return std::nullopt;
  if (!port.empty()) {
    const auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), out.port);
    if (ec != std::errc() || p != port.data() + port.size() || out.port <= 0 || out.port > 65535) {
      return std::nullopt;
    }
  }
  return out;
}

milliseconds connect_timeout(const OtlpHttpConfig& c) {
  return std::min({c.timeout, kMaxConnectTimeout, c.shutdown_flush / 2});
}

Status validate(const OtlpHttpConfig& c) {
  if (c.max_queue == 0 || c.max_batch == 0) {
    return {ErrorCode::kInvalidArgument, "OTLP exporter: max_queue and max_batch must be > 0"};
  }
  if (c.schedule_delay.count() <= 0 || c.timeout.count() <= 0 || c.shutdown_flush.count() <= 0) {
    return {ErrorCode::kInvalidArgument, "OTLP exporter: durations must be positive"};
  }
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<OtlpHttpExporter>> OtlpHttpExporter::create(OtlpHttpConfig config) {
  if (Status st = validate(config); !st.ok()) return st;
  auto url = parse_http_url(config.endpoint);
  if (!url) {
    return Status(ErrorCode::kInvalidArgument,
                  "OTLP endpoint must be http://host[:port]/path, got '" + config.endpoint + "'");
  }
  try {
    auto client = std::make_unique<httplib::Client>(url->host, url->port);
    client->set_connection_timeout(connect_timeout(config));
    client->set_read_timeout(config.timeout);
    client->set_write_timeout(config.timeout);
    client->set_keep_alive(false);
    return std::unique_ptr<OtlpHttpExporter>(
        new OtlpHttpExporter(std::move(config), std::move(client), std::move(url->path)));
  } catch (const std::exception& e) {
    return Status(ErrorCode::kUnavailable, std::string("OTLP exporter: ") + e.what());
  }
}

OtlpHttpExporter::OtlpHttpExporter(OtlpHttpConfig config, std::unique_ptr<httplib::Client> client,
                                   std::string path)
    : config_(std::move(config)),
      client_(std::move(client)),
      path_(std::move(path)),
      worker_([this](const std::stop_token& st) { run(st); }) {}

OtlpHttpExporter::~OtlpHttpExporter() {
  const auto start = std::chrono::steady_clock::now();
  // Leave room for a connect in progress, which cannot be aborted.
  const auto drain_deadline = start + config_.shutdown_flush - connect_timeout(config_);
  std::unique_lock lock(mu_);
  ++flush_requests_;
  work_cv_.notify_all();
  idle_cv_.wait_until(lock, drain_deadline, [this] { return idle() || worker_done_; });
  --flush_requests_;
  stopping_ = true;
  work_cv_.notify_all();
  while (!worker_done_) {
    lock.unlock();
    client_->stop();  // aborts a request in flight (thread-safe in cpp-httplib)
    lock.lock();
    idle_cv_.wait_for(lock, kAbortRetry, [this] { return worker_done_; });
  }
  lock.unlock();
  worker_.request_stop();
  worker_.join();
}

void OtlpHttpExporter::export_spans(std::vector<SpanData> spans) {
  std::lock_guard lock(mu_);
  const std::size_t room = config_.max_queue - std::min(config_.max_queue, queue_.size());
  const std::size_t take = std::min(room, spans.size());
  for (std::size_t i = 0; i < take; ++i) queue_.push_back(std::move(spans[i]));
  stats_.dropped += spans.size() - take;
  if (queue_.size() >= config_.max_batch) work_cv_.notify_one();
}

bool OtlpHttpExporter::flush(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  const auto dropped_before = stats_.dropped;
  ++flush_requests_;
  work_cv_.notify_all();
  const bool drained = idle_cv_.wait_for(lock, timeout, [this] { return idle() || worker_done_; });
  --flush_requests_;
  return drained && idle() && stats_.dropped == dropped_before;
}

ExporterStats OtlpHttpExporter::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

void OtlpHttpExporter::run(const std::stop_token& stop) {
  std::unique_lock lock(mu_);
  while (!stopping_ && !stop.stop_requested()) {
    work_cv_.wait_for(lock, stop, config_.schedule_delay, [this] {
      return stopping_ || queue_.size() >= config_.max_batch ||
             (flush_requests_ > 0 && !queue_.empty());
    });
    // Woken by a full batch, a flush or the schedule delay: send everything queued.
    while (!queue_.empty() && !stopping_ && !stop.stop_requested()) {
      const std::size_t n = std::min(queue_.size(), config_.max_batch);
      std::vector<SpanData> batch(std::make_move_iterator(queue_.begin()),
                                  std::make_move_iterator(queue_.begin() + static_cast<long>(n)));
      queue_.erase(queue_.begin(), queue_.begin() + static_cast<long>(n));
      in_flight_ = n;
      lock.unlock();
      const bool ok = send(batch);
      lock.lock();
      in_flight_ = 0;
      if (ok) {
        stats_.exported += n;
      } else {
        stats_.dropped += n;
        stats_.failed_requests += 1;
      }
      idle_cv_.notify_all();
    }
  }
  stats_.dropped += queue_.size();
  queue_.clear();
  worker_done_ = true;
  idle_cv_.notify_all();
}

bool OtlpHttpExporter::send(const std::vector<SpanData>& batch) {
  try {
    const std::string body = dump_json(encode_export(batch, config_.resource));
    const httplib::Result res = client_->Post(path_, body, "application/json");
    return res && res->status >= 200 && res->status < 300;
  } catch (...) {  // nothing from httplib or the encoder escapes the sending thread
    return false;
  }
}

}  // namespace dslmodel::telemetry

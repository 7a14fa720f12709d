#include "etcd/transport.h"

#include <fmt/format.h>

#include <algorithm>
#include <exception>
#include <memory>
#include <utility>

#include "etcd/wire.h"

namespace dslmodel::etcd::detail {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr std::size_t kMaxIdleHandles = 64;
constexpr std::size_t kMaxErrorBody = std::size_t{64} * 1024;

void init_curl_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// now + d, without overflowing for a "forever" such as milliseconds::max().
Clock::time_point deadline_after(milliseconds d) {
  constexpr milliseconds kCap = std::chrono::hours(24 * 365 * 10);
  return Clock::now() + std::clamp(d, milliseconds(0), kCap);
}

milliseconds until(Clock::time_point deadline) {
  return std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
}

// One try against one endpoint.
struct Attempt {
  CURLcode code = CURLE_OK;
  bool sent = false;  // a connection was made (or reused) and the request went out on it
  char error[CURL_ERROR_SIZE] = {};
  long http_status = 0;
  std::string body;

  std::string describe() const { return error[0] != '\0' ? error : curl_easy_strerror(code); }
};

// A connection could not be made: nothing reached etcd, so another endpoint may be tried.
bool is_connect_failure(const Attempt& a) {
  if (a.code == CURLE_COULDNT_CONNECT || a.code == CURLE_COULDNT_RESOLVE_HOST ||
      a.code == CURLE_COULDNT_RESOLVE_PROXY) {
    return true;
  }
  return !a.sent && a.code != CURLE_OK;
}

size_t append_body(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

int mark_sent(void* user, char* /*primary_ip*/, char* /*local_ip*/, int /*primary_port*/,
              int /*local_port*/) {
  *static_cast<bool*>(user) = true;
  return CURL_PREREQFUNC_OK;
}

void prepare(CURL* easy, curl_slist* headers, const std::string& url, const std::string& body,
             milliseconds connect_timeout, Attempt& attempt) {
  curl_easy_reset(easy);
  curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy, CURLOPT_PROXY, "");  // etcd directly, whatever http_proxy says
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(std::max<milliseconds::rep>(1, connect_timeout.count())));
  curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, attempt.error);
  curl_easy_setopt(easy, CURLOPT_PREREQFUNCTION, &mark_sent);
  curl_easy_setopt(easy, CURLOPT_PREREQDATA, &attempt.sent);
}

// What a stream's transfer saw, shared with its callbacks.
struct StreamState {
  const Transport::LineHandler* on_line = nullptr;
  std::stop_token stop;
  Clock::time_point deadline;
  CURL* easy = nullptr;
  Attempt attempt;
  std::string partial;  // the start of a line not yet complete
  std::optional<Status> verdict;
  std::exception_ptr exception;
  bool stopped = false;   // stop requested or deadline passed
  bool finished = false;  // curl ended the transfer

  // Hands one line to on_line. False when the stream must end.
  bool handle(std::string_view line) {
    if (line.find_first_not_of(" \t\r\n") == std::string_view::npos) return true;
    try {
      verdict = (*on_line)(line);
    } catch (...) {
      exception = std::current_exception();
      return false;
    }
    return !verdict.has_value();
  }

  // Hands every complete line of `partial` to on_line (and, with `flush`, the rest too).
  bool deliver(bool flush) {
    std::size_t start = 0;
    bool more = true;
    for (std::size_t nl; more && (nl = partial.find('\n', start)) != std::string::npos;) {
      more = handle(std::string_view(partial).substr(start, nl - start));
      start = nl + 1;
    }
    partial.erase(0, start);
    if (more && flush && !partial.empty()) {
      std::string rest = std::move(partial);
      partial.clear();
      more = handle(rest);
    }
    return more;
  }

  static size_t on_write(char* data, size_t size, size_t n, void* user) {
    auto& s = *static_cast<StreamState*>(user);
    const size_t len = size * n;
    if (s.attempt.http_status == 0) {
      curl_easy_getinfo(s.easy, CURLINFO_RESPONSE_CODE, &s.attempt.http_status);
    }
    if (s.attempt.http_status != 200) {
      if (s.attempt.body.size() < kMaxErrorBody) s.attempt.body.append(data, len);
      return len;
    }
    s.partial.append(data, len);
    return s.deliver(false) ? len : 0;
  }

  static int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    auto& s = *static_cast<StreamState*>(user);
    if (s.stop.stop_requested() || Clock::now() >= s.deadline) {
      s.stopped = true;
      return 1;
    }
    return 0;
  }
};

// Runs one stream transfer to its end, a stop request or the deadline. A stop request wakes the
// poll at once (curl_multi_wakeup); the deadline is checked at least every second.
void run_stream(CURL* easy, curl_slist* headers, const std::string& url, const std::string& body,
                milliseconds connect_timeout, StreamState& s) {
  prepare(easy, headers, url, body, connect_timeout, s.attempt);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &StreamState::on_write);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &s);
  curl_easy_setopt(easy, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(easy, CURLOPT_XFERINFOFUNCTION, &StreamState::on_progress);
  curl_easy_setopt(easy, CURLOPT_XFERINFODATA, &s);
  s.easy = easy;

  CURLM* multi = curl_multi_init();
  if (multi == nullptr || curl_multi_add_handle(multi, easy) != CURLM_OK) {
    if (multi != nullptr) curl_multi_cleanup(multi);
    s.attempt.code = CURLE_OUT_OF_MEMORY;
    s.finished = true;
    return;
  }
  {
    std::stop_callback wake(s.stop, [multi] { curl_multi_wakeup(multi); });
    for (;;) {
      int running = 0;
      if (curl_multi_perform(multi, &running) != CURLM_OK) {
        s.attempt.code = CURLE_RECV_ERROR;
        s.finished = true;
        break;
      }
      int left = 0;
      while (CURLMsg* m = curl_multi_info_read(multi, &left)) {
        if (m->msg == CURLMSG_DONE) {
          s.attempt.code = m->data.result;
          s.finished = true;
        }
      }
      if (s.finished || running == 0) {
        s.finished = true;
        break;
      }
      if (s.stop.stop_requested() || Clock::now() >= s.deadline) {
        s.stopped = true;
        break;
      }
      const milliseconds wait = std::clamp(until(s.deadline), milliseconds(1), milliseconds(1000));
      curl_multi_poll(multi, nullptr, 0, static_cast<int>(wait.count()), nullptr);
    }
  }
  if (s.attempt.http_status == 0) {
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &s.attempt.http_status);
  }
  curl_multi_remove_handle(multi, easy);
  curl_multi_cleanup(multi);
}

struct EasyCleanup {
  void operator()(CURL* easy) const {
    curl_easy_reset(easy);  // drops pointers into the caller's stack before the handle closes
    curl_easy_cleanup(easy);
  }
};

}  // namespace

Transport::Transport(std::vector<std::string> endpoints, Options options)
    : endpoints_(std::move(endpoints)), options_(options) {
  init_curl_once();
  headers_ = curl_slist_append(headers_, "Content-Type: application/json");
  headers_ = curl_slist_append(headers_, "Expect:");  // no 100-continue round trip
}

Transport::~Transport() {
  for (CURL* easy : idle_) curl_easy_cleanup(easy);
  curl_slist_free_all(headers_);
}

CURL* Transport::acquire() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!idle_.empty()) {
      CURL* easy = idle_.back();
      idle_.pop_back();
      return easy;
    }
  }
  return curl_easy_init();
}

void Transport::release(CURL* easy) {
  curl_easy_reset(easy);  // keeps the connection; drops pointers to the finished call's buffers
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (idle_.size() < kMaxIdleHandles) {
      idle_.push_back(easy);
      return;
    }
  }
  curl_easy_cleanup(easy);
}

Result<HttpReply> Transport::post(std::string_view path, const std::string& body) {
  if (endpoints_.empty()) {
    return Status(ErrorCode::kInvalidArgument, "etcd client: no endpoints configured");
  }
  const auto deadline = deadline_after(options_.request_timeout);
  CURL* easy = acquire();
  if (easy == nullptr) return Status(ErrorCode::kUnavailable, "etcd client: curl_easy_init failed");
  struct GiveBack {
    Transport* transport;
    CURL* easy;
    ~GiveBack() { transport->release(easy); }
  } give_back{this, easy};

  std::string failures;
  const std::size_t n = endpoints_.size();
  const std::size_t first = preferred_.load(std::memory_order_relaxed) % n;
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t index = (first + i) % n;
    const std::string& endpoint = endpoints_[index];
    const milliseconds remaining = until(deadline);
    if (remaining.count() <= 0) {
      return Status(
          ErrorCode::kTimeout,
          fmt::format("etcd: POST {} ran out of time (request timeout {} ms){}{}", path,
                      options_.request_timeout.count(), failures.empty() ? "" : ": ", failures));
    }
    Attempt a;
    const milliseconds connect = options_.connect_timeout.count() > 0
                                     ? std::min(options_.connect_timeout, remaining)
                                     : remaining;
    prepare(easy, headers_, endpoint + std::string(path), body, connect, a);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &append_body);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, &a.body);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(remaining.count()));
    a.code = curl_easy_perform(easy);
    if (a.code == CURLE_OK) {
      curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &a.http_status);
      preferred_.store(index, std::memory_order_relaxed);
      return HttpReply{a.http_status, std::move(a.body), endpoint};
    }
    if (is_connect_failure(a)) {
      if (!failures.empty()) failures += "; ";
      failures += fmt::format("{}: {}", endpoint, a.describe());
      continue;
    }
    if (a.code == CURLE_OPERATION_TIMEDOUT) {
      return Status(ErrorCode::kTimeout,
                    fmt::format("etcd at {} did not answer POST {} within {} ms: {}", endpoint,
                                path, options_.request_timeout.count(), a.describe()));
    }
    return Status(ErrorCode::kUnavailable,
                  fmt::format("etcd at {}: POST {} failed: {}", endpoint, path, a.describe()));
  }
  return Status(ErrorCode::kUnavailable, fmt::format("cannot reach etcd: {}", failures));
}

Status Transport::stream(std::string_view path, const std::string& body, const LineHandler& on_line,
                         std::chrono::milliseconds timeout, const std::stop_token& stop) {
  if (endpoints_.empty()) {
    return Status(ErrorCode::kInvalidArgument, "etcd client: no endpoints configured");
  }
  const auto deadline = deadline_after(timeout);
  std::string failures;
  const std::size_t n = endpoints_.size();
  const std::size_t first = preferred_.load(std::memory_order_relaxed) % n;
  for (std::size_t i = 0; i < n; ++i) {
    if (stop.stop_requested() || Clock::now() >= deadline) return Status::Ok();
    const std::size_t index = (first + i) % n;
    const std::string& endpoint = endpoints_[index];
    std::unique_ptr<CURL, EasyCleanup> easy(curl_easy_init());
    if (!easy) return Status(ErrorCode::kUnavailable, "etcd client: curl_easy_init failed");
    StreamState s;
    s.on_line = &on_line;
    s.stop = stop;
    s.deadline = deadline;
    const milliseconds connect = options_.connect_timeout.count() > 0
                                     ? options_.connect_timeout
                                     : std::max(until(deadline), milliseconds(1));
    run_stream(easy.get(), headers_, endpoint + std::string(path), body, connect, s);

    if (s.exception) std::rethrow_exception(s.exception);
    if (s.verdict) {
      preferred_.store(index, std::memory_order_relaxed);
      return *s.verdict;
    }
    if (s.stopped || s.attempt.code == CURLE_ABORTED_BY_CALLBACK) return Status::Ok();
    if (is_connect_failure(s.attempt)) {
      if (!failures.empty()) failures += "; ";
      failures += fmt::format("{}: {}", endpoint, s.attempt.describe());
      continue;
    }
    preferred_.store(index, std::memory_order_relaxed);
    if (s.attempt.code != CURLE_OK) {
      return Status(ErrorCode::kUnavailable, fmt::format("etcd at {}: stream POST {} broke: {}",
                                                         endpoint, path, s.attempt.describe()));
    }
    if (s.attempt.http_status != 200) {
      return wire::status_from_http(s.attempt.http_status, s.attempt.body, endpoint);
    }
    if (!s.deliver(true)) {
      if (s.exception) std::rethrow_exception(s.exception);
      if (s.verdict) return *s.verdict;
    }
    return Status(ErrorCode::kUnavailable,
                  fmt::format("etcd at {} ended the stream POST {}", endpoint, path));
  }
  return Status(ErrorCode::kUnavailable, fmt::format("cannot reach etcd: {}", failures));
}

}  // namespace dslmodel::etcd::detail

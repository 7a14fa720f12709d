// HTTP for the etcd client, private to the etcd module: POSTs to etcd's JSON gateway over libcurl.
//
// Unary calls take an easy handle from a pool (guarded by mu_) so the connection it keeps alive
// is reused by the next call, whichever thread makes it. A stream (watch) gets a handle of its
// own, driven by a multi handle so that a stop request wakes it at once. With several endpoints
// a call starts at the one that answered last and moves on only when it cannot connect (nothing
// was sent): a request that reached etcd is never sent twice. Proxy environment variables
// (http_proxy, ...) are ignored: etcd is always reached directly.
//
// Thread-safety: all members may be called from any thread at once.
#pragma once

#include <curl/curl.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "dslmodel/status.h"
#include "etcd/client.h"

namespace dslmodel::etcd::detail {

struct HttpReply {
  long status = 0;  // the HTTP status
  std::string body;
  std::string endpoint;  // the endpoint that answered
};

class Transport {
 public:
  // Endpoints are used as given ("http://host:port", no trailing slash).
  Transport(std::vector<std::string> endpoints, Options options);
  ~Transport();
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  const std::vector<std::string>& endpoints() const { return endpoints_; }

  // POSTs `body` (JSON) to endpoint + path. Returns the reply whatever its HTTP status.
  // kUnavailable when no endpoint could be connected to (the message names each endpoint and
  // curl's error) or the connection broke; kTimeout when request_timeout passed after the request
  // was sent; kInvalidArgument when there are no endpoints. Blocks at most about request_timeout.
  Result<HttpReply> post(std::string_view path, const std::string& body);

  // What a stream's line handler decides: nullopt keeps reading; a Status ends the stream and
  // becomes stream()'s result.
  using LineHandler = std::function<std::optional<Status>(std::string_view line)>;

  // POSTs `body` to endpoint + path and hands each non-blank line of a 200 answer to on_line,
  // on the calling thread. Returns ok when `stop` is requested or `timeout` passes; on_line's
  // Status when it returns one; kUnavailable when no endpoint could be connected to or the stream
  // ended or broke; etcd's error for a non-200 answer. An exception from on_line ends the stream
  // and is rethrown.
  Status stream(std::string_view path, const std::string& body, const LineHandler& on_line,
                std::chrono::milliseconds timeout, const std::stop_token& stop);

 private:
  CURL* acquire();  // a pooled handle, or a new one; nullptr when curl cannot make one
  void release(CURL* easy);

  const std::vector<std::string> endpoints_;
  const Options options_;
  curl_slist* headers_ = nullptr;          // read-only after construction
  std::atomic<std::size_t> preferred_{0};  // index of the endpoint that answered last

  std::mutex mu_;
  std::vector<CURL*> idle_;  // guarded by mu_: handles not in use
};

}  // namespace dslmodel::etcd::detail

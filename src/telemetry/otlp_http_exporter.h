// OtlpHttpExporter: sends spans to an OpenTelemetry collector over OTLP/HTTP with the JSON
// encoding (POST <endpoint>, Content-Type: application/json, body from otlp_json.h).
//
// export_spans() only appends to a bounded in-memory queue and returns; one background thread
// sends batches. A collector that is down, slow or answering non-2xx costs dropped spans (counted
// in stats()), never time on the caller's thread. Plain http:// only.
//
// Thread-safety: all public members may be called from any thread. The queue, the stats and the
// flush bookkeeping are guarded by mu_; the HTTP client is used by the background thread only,
// except that the destructor may abort its request in flight.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "dslmodel/status.h"
#include "dslmodel/telemetry.h"
#include "telemetry/otlp_json.h"

namespace httplib {
class Client;
}

namespace dslmodel::telemetry {

struct OtlpHttpConfig {
  std::string endpoint;  // full URL including the path, e.g. http://127.0.0.1:4318/v1/traces
  Resource resource;
  std::size_t max_queue = 2048;  // spans waiting to be sent; beyond it new spans are dropped
  std::size_t max_batch = 512;   // spans per request
  std::chrono::milliseconds schedule_delay{1000};  // a partial batch waits at most this long
  std::chrono::milliseconds timeout{2000};  // per request: connect (capped at 1 s), send, read
  std::chrono::milliseconds shutdown_flush{3000};  // the destructor's bound
};

class OtlpHttpExporter final : public SpanExporter {
 public:
  // Validates the config and starts the sending thread. Fails with kInvalidArgument for an
  // endpoint that is not http://host[:port][/path], a zero max_queue or max_batch, or
  // non-positive durations. Does not contact the collector.
  static Result<std::unique_ptr<OtlpHttpExporter>> create(OtlpHttpConfig config);

  // Tries to send what is queued for at most shutdown_flush, then aborts any request in flight
  // and stops; spans still queued are counted as dropped. Blocks at most about shutdown_flush,
  // whatever the collector does.
  ~OtlpHttpExporter() override;

  // Queues the spans (as many as fit; the rest are dropped and counted). Never blocks on I/O.
  void export_spans(std::vector<SpanData> spans) override;

  // Asks the sending thread to send everything queued now and waits for it, at most `timeout`.
  // True when the queue emptied and nothing was dropped meanwhile.
  bool flush(std::chrono::milliseconds timeout) override;

  ExporterStats stats() const override;

 private:
  OtlpHttpExporter(OtlpHttpConfig config, std::unique_ptr<httplib::Client> client,
                   std::string path);

  void run(const std::stop_token& stop);
  // Sends one batch; true when the collector answered 2xx. Called without mu_ held.
  bool send(const std::vector<SpanData>& batch);
  bool idle() const { return queue_.empty() && in_flight_ == 0; }  // REQUIRES: mu_ held

  const OtlpHttpConfig config_;
  const std::unique_ptr<httplib::Client> client_;
  const std::string path_;

  mutable std::mutex mu_;
  std::condition_variable_any work_cv_;  // the sender waits here for spans, flush or stop
  std::condition_variable idle_cv_;      // flushers wait here for an empty queue
  std::deque<SpanData> queue_;           // guarded by mu_
  std::size_t in_flight_ = 0;            // guarded by mu_: spans being sent
  int flush_requests_ = 0;               // guarded by mu_: flushers waiting
  bool stopping_ = false;                // guarded by mu_
  bool worker_done_ = false;             // guarded by mu_
  ExporterStats stats_;                  // guarded by mu_

  std::jthread worker_;  // last: started after everything above exists
};

}  // namespace dslmodel::telemetry

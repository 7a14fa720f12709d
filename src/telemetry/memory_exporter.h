// MemoryExporter: keeps every exported span in memory, for tests and embedders that want to look
// at what the engine reported.
//
// Thread-safety: all members may be called from any thread; a mutex guards the spans.
#pragma once

#include <chrono>
#include <mutex>
#include <vector>

#include "dslmodel/telemetry.h"

namespace dslmodel::telemetry {

class MemoryExporter final : public SpanExporter {
 public:
  MemoryExporter() = default;

  // Appends the spans; counts them as exported. Never blocks on I/O, never throws (except
  // std::bad_alloc, like any allocation).
  void export_spans(std::vector<SpanData> spans) override;

  // Nothing is queued: returns true at once.
  bool flush(std::chrono::milliseconds timeout) override;

  ExporterStats stats() const override;

  // A copy of every span exported since construction or the last clear(), in export order.
  std::vector<SpanData> spans() const;

  // Forgets the kept spans (the stats are kept).
  void clear();

 private:
  mutable std::mutex mu_;
  std::vector<SpanData> spans_;  // guarded by mu_
  ExporterStats stats_;          // guarded by mu_
};

}  // namespace dslmodel::telemetry

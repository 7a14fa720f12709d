#include "telemetry/memory_exporter.h"

#include <iterator>
#include <utility>

namespace dslmodel::telemetry {

void MemoryExporter::export_spans(std::vector<SpanData> spans) {
  std::lock_guard lock(mu_);
  stats_.exported += spans.size();
  spans_.insert(spans_.end(), std::make_move_iterator(spans.begin()),
                std::make_move_iterator(spans.end()));
}

bool MemoryExporter::flush(std::chrono::milliseconds /*timeout*/) { return true; }

ExporterStats MemoryExporter::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

std::vector<SpanData> MemoryExporter::spans() const {
  std::lock_guard lock(mu_);
  return spans_;
}

void MemoryExporter::clear() {
  std::lock_guard lock(mu_);
  spans_.clear();
}

}  // namespace dslmodel::telemetry

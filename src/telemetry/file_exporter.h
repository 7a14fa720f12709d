// FileExporter (`--spans-file PATH`): appends each export_spans() call as one line of OTLP/JSON
// (an ExportTraceServiceRequest, see otlp_json.h) to a file opened with O_APPEND, so several
// writers and `tail -f` see whole lines.
//
// Thread-safety: all members may be called from any thread; a mutex serializes writes. The write
// happens on the caller's thread (a local file write, no network).
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <vector>

#include "dslmodel/status.h"
#include "dslmodel/telemetry.h"
#include "telemetry/otlp_json.h"

namespace dslmodel::telemetry {

class FileExporter final : public SpanExporter {
 public:
  // Opens (creating, mode 0644) `path` for appending. Fails with kIo when it cannot be opened
  // (missing directory, permissions).
  static Result<std::unique_ptr<FileExporter>> create(const std::filesystem::path& path,
                                                      Resource resource = {});
  ~FileExporter() override;

  // Writes one line for the spans (nothing for an empty vector). A failed or short write counts
  // the spans as dropped and the call as a failed request. Never throws.
  void export_spans(std::vector<SpanData> spans) override;

  // Writes are not buffered: returns true at once.
  bool flush(std::chrono::milliseconds timeout) override;

  ExporterStats stats() const override;

 private:
  FileExporter(int fd, Resource resource) : fd_(fd), resource_(std::move(resource)) {}

  const int fd_;
  const Resource resource_;
  mutable std::mutex mu_;
  ExporterStats stats_;  // guarded by mu_
};

}  // namespace dslmodel::telemetry

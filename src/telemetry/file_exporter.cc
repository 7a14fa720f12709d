#include "telemetry/file_exporter.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

namespace dslmodel::telemetry {
namespace {

// Writes all of `data`, retrying on EINTR and short writes. False on any other error.
bool write_all(int fd, const std::string& data) {
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace

Result<std::unique_ptr<FileExporter>> FileExporter::create(const std::filesystem::path& path,
                                                           Resource resource) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Status(ErrorCode::kIo,
                  "cannot open spans file " + path.string() + ": " + std::strerror(errno));
  }
  return std::unique_ptr<FileExporter>(new FileExporter(fd, std::move(resource)));
}

FileExporter::~FileExporter() { ::close(fd_); }

void FileExporter::export_spans(std::vector<SpanData> spans) {
  if (spans.empty()) return;
  std::string line;
  try {
    line = dump_json(encode_export(spans, resource_));
  } catch (...) {  // allocation failure: count, never throw
    line.clear();
  }
  std::lock_guard lock(mu_);
  if (!line.empty()) {
    line.push_back('\n');
    if (write_all(fd_, line)) {
      stats_.exported += spans.size();
      return;
    }
  }
  stats_.dropped += spans.size();
  stats_.failed_requests += 1;
}

bool FileExporter::flush(std::chrono::milliseconds /*timeout*/) { return true; }

ExporterStats FileExporter::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

}  // namespace dslmodel::telemetry

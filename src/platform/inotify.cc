// DirWatch: one inotify instance with one watch, read without blocking.
#include "platform/inotify.h"

#include <sys/inotify.h>

#include <cerrno>
#include <cstring>
#include <unordered_set>

namespace dslmodel::platform {
namespace {

constexpr std::uint32_t kEntryEvents =
    IN_CREATE | IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_ATTRIB;
constexpr std::uint32_t kSelfEvents = IN_DELETE_SELF | IN_MOVE_SELF;
constexpr std::uint32_t kLostEvents = kSelfEvents | IN_IGNORED | IN_UNMOUNT;

Status error_of(const std::filesystem::path& dir, int err) {
  const ErrorCode code = err == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIo;
  return {code, dir.string() + ": " + std::strerror(err)};
}

// Adds the events in buf[0, n) to `out`.
void parse(const char* buf, std::size_t n, std::unordered_set<std::string>& names,
           DirChanges& out) {
  std::size_t at = 0;
  while (at + sizeof(inotify_event) <= n) {
    inotify_event ev{};
    std::memcpy(&ev, buf + at, sizeof ev);
    const char* name = buf + at + sizeof(inotify_event);
    if ((ev.mask & IN_Q_OVERFLOW) != 0) out.overflow = true;
    if ((ev.mask & kLostEvents) != 0) out.lost = true;
    if (ev.len > 0) names.emplace(name, ::strnlen(name, ev.len));
    at += sizeof(inotify_event) + ev.len;
  }
}

}  // namespace

Result<DirWatch> DirWatch::open(const std::filesystem::path& dir) {
  UniqueFd fd(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  if (!fd.valid()) return error_of(dir, errno);
  const std::uint32_t mask = kEntryEvents | kSelfEvents | IN_ONLYDIR | IN_EXCL_UNLINK;
  if (::inotify_add_watch(fd.get(), dir.c_str(), mask) < 0) return error_of(dir, errno);
  return DirWatch(std::move(fd));
}

Result<DirChanges> DirWatch::drain() {
  DirChanges out;
  if (!fd_.valid()) {
    out.lost = true;
    return out;
  }
  std::unordered_set<std::string> names;
  alignas(inotify_event) char buf[64 * 1024];
  for (;;) {
    const ssize_t n = ::read(fd_.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0 || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))) break;
    if (n < 0) return Status(ErrorCode::kIo, std::string("inotify: ") + std::strerror(errno));
    parse(buf, static_cast<std::size_t>(n), names, out);
  }
  out.names.assign(names.begin(), names.end());
  if (out.lost) fd_.reset();
  return out;
}

}  // namespace dslmodel::platform

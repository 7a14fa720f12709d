// The one owning file descriptor every module uses: move-only, closed on destruction.
// Not thread-safe: one owner at a time, like the descriptor itself.
#pragma once

#include <unistd.h>

#include <cerrno>
#include <utility>

namespace dslmodel::platform {

// Owns one file descriptor; -1 means none. Closes it on destruction and on reset().
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) reset(std::exchange(o.fd_, -1));
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }

  // Gives up ownership: returns the descriptor (or -1) without closing it.
  int release() { return std::exchange(fd_, -1); }

  // Closes the held descriptor, if any, and takes `fd`.
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

  // Closes now and reports what close(2) said: 0, or its errno (EBADF when nothing is held).
  int close() {
    if (fd_ < 0) return EBADF;
    const int rc = ::close(std::exchange(fd_, -1));
    return rc == 0 ? 0 : errno;
  }

 private:
  int fd_ = -1;
};

}  // namespace dslmodel::platform

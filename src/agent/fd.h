// Small POSIX descriptor helpers for the agent's child runner: an owning Fd, close-on-exec
// pipes, and a write that never lets SIGPIPE kill the process. Thread-safe (no shared state).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <utility>

#include "dslmodel/status.h"

namespace dslmodel::agent {

// Owns one file descriptor; closes it on destruction. -1 means none.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) reset(std::exchange(o.fd_, -1));
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  // Closes the held descriptor, if any, and takes `fd`.
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

struct Pipe {
  Fd read;
  Fd write;
};

// A pipe whose both ends are close-on-exec. kIo when the system refuses.
Result<Pipe> make_pipe();

void set_nonblocking(int fd);

// write(2) with SIGPIPE blocked in this thread for the call; a SIGPIPE the write raised is
// consumed. Returns what write returned, errno preserved (EPIPE when the reader is gone).
ssize_t write_no_sigpipe(int fd, const char* data, std::size_t n);

}  // namespace dslmodel::agent

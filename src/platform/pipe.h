// The descriptors a child process is set up with: close-on-exec pipes, its stdin, and a write
// to a pipe that never lets SIGPIPE kill the process. Thread-safe (no shared state).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <string>

#include "dslmodel/status.h"
#include "platform/unique_fd.h"

namespace dslmodel::platform {

struct Pipe {
  UniqueFd read;
  UniqueFd write;
};

// A pipe whose both ends are close-on-exec. kIo "pipe: <reason>" when the system refuses.
Result<Pipe> make_pipe();

// A child's stdin: a pipe when there is `data` to write to it, else only a read end on /dev/null
// (close-on-exec). kIo when the pipe or /dev/null cannot be opened.
Result<Pipe> make_stdin(const std::string& data);

void set_nonblocking(int fd);

// write(2) with SIGPIPE blocked in this thread for the call; a SIGPIPE the write raised is
// consumed. Returns what write returned, errno preserved (EPIPE when the reader is gone).
ssize_t write_no_sigpipe(int fd, const char* data, std::size_t n);

}  // namespace dslmodel::platform

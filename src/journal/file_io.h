// Low-level file helpers of the file journal (file_journal.cc, file_journal_read.cc). Private to
// src/journal.
#pragma once

#include <sys/file.h>
#include <sys/types.h>

#include <filesystem>
#include <string>
#include <string_view>

#include "dslmodel/status.h"

namespace dslmodel::journal::fileio {

Status io_error(std::string_view what, const std::filesystem::path& path, int err);

// Holds a flock(2) until scope exit; error() is the errno of a failed lock (0: held).
class FileLock {
 public:
  FileLock(int fd, int op);
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  ~FileLock();
  int error() const { return error_; }

 private:
  int fd_;
  int error_ = 0;
};

// Reads [offset, end of file) of fd.
Result<std::string> read_from(int fd, off_t offset, const std::filesystem::path& path);

// Opens without following a symlink at the file or its directory: the journal is never appended
// (or read) outside the directory it is configured in. -1 with errno on failure.
int open_nofollow(const std::filesystem::path& file, int flags, mode_t mode = 0);

// The error for a failed open_nofollow(): a refused symlink names the link.
Status open_error(std::string_view what, const std::filesystem::path& file, int err);

// The inode and size of the file at `path`; inode 0 when it does not exist.
struct FileId {
  std::uint64_t inode = 0;
  std::uint64_t size = 0;
};
Result<FileId> file_id(const std::filesystem::path& path);

}  // namespace dslmodel::journal::fileio

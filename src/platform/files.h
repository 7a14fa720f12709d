// Durable file helpers (POSIX). Thread-safe: no shared state.
//
// Every descriptor opened here is close-on-exec. No function throws.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

#include "dslmodel/status.h"

namespace dslmodel::platform {

// Writes `data` to `path` atomically: a temp file in the same directory, fsync, rename, fsync of
// the directory. Readers see the old content or the new, never a torn file.
// Fails with kIo naming the path and the OS error.
Status atomic_write_file(const std::filesystem::path& path, std::string_view data);

// Reads a regular file of at most `max_size` bytes without following a symlink at `path`.
// Fails: kNotFound (gone), kInvalidArgument ("symlink", "not a regular file",
// "over the size limit (N bytes)"), kIo (other OS errors).
Result<std::string> read_file_limited(const std::filesystem::path& path, std::size_t max_size);

// Like atomic_write_file, but never replaces: fails with kConflict when `path` already exists
// (the check and the publication are one atomic link/rename-noreplace).
Status atomic_create_file(const std::filesystem::path& path, std::string_view data);

// Reads the regular file `name` relative to the directory descriptor `dir_fd` (AT_FDCWD for the
// working directory) into `out`, replacing its content but reusing its capacity. Never follows a
// symlink and never blocks on a FIFO. The message of a failure is the bare reason, for reports:
// kNotFound (strerror), kInvalidArgument ("symlink", "not a regular file",
// "over the size limit (N bytes)" where N is `max_size`), kIo (strerror).
Status read_file_at(int dir_fd, const char* name, std::size_t max_size, std::string& out);

// Appends one record (a line) to `path`, creating it, and fsyncs before returning ok.
Status append_durable(const std::filesystem::path& path, std::string_view line);

// Renames atomically, then fsyncs the destination directory (and the source's when different).
Status durable_rename(const std::filesystem::path& from, const std::filesystem::path& to);

// Like durable_rename, but fails with kConflict when `to` already exists (never replaces it).
Status durable_rename_noreplace(const std::filesystem::path& from, const std::filesystem::path& to);

// fsyncs the directory `dir` so that entries created, renamed or removed in it are durable.
Status fsync_directory(const std::filesystem::path& dir);

}  // namespace dslmodel::platform

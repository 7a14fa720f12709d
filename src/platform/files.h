// Durable file helpers (POSIX). Thread-safe: no shared state.
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

// Appends one record (a line) to `path`, creating it, and fsyncs before returning ok.
Status append_durable(const std::filesystem::path& path, std::string_view line);

// Renames atomically, then fsyncs the destination directory (and the source's when different).
Status durable_rename(const std::filesystem::path& from, const std::filesystem::path& to);

}  // namespace dslmodel::platform

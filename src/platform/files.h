// Durable file helpers (POSIX). Thread-safe: no shared state.
//
// Every descriptor opened here is close-on-exec. No function throws.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "dslmodel/status.h"

namespace dslmodel::platform {

// The temp file every atomic write of `target` (a file name) goes through first, in the target's
// directory: ".<target>.tmp.<pid>.<16 hex digits>". Hidden, so no reader takes it for a record.
std::string temp_file_name(std::string_view target);

// Whether `name` has the shape temp_file_name() gives.
bool is_temp_file_name(std::string_view name);

// Removes from the top level of `dir` the temp files (is_temp_file_name) last modified more than
// `min_age` before `now`: a writer killed (kill -9, power loss) between creating one and renaming
// it into place leaves it behind, and no live writer keeps one longer than it takes to write and
// fsync one record. Removes nothing else and follows no symlink. Returns the names removed;
// an entry that cannot be examined or removed is left alone. Fails (kNotFound, kIo) only when
// `dir` cannot be listed.
Result<std::vector<std::string>> remove_stale_temp_files(const std::filesystem::path& dir,
                                                         std::chrono::system_clock::time_point now,
                                                         std::chrono::seconds min_age);

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

// Makes sure `dir` is a real directory the engine may write its private state in (the `.dsl/`
// of a coordination directory, or a directory under it): creates it and its missing parents
// (fsyncing each parent that gained an entry) and refuses to follow a symlink at `dir` itself,
// so that nothing written there ends up outside (docs/metrics.md, "Engine state"). The parents
// are the operator's choice and may be symlinks. Fails with kInvalidArgument
// "<dir>: is a symlink; refusing to follow it", kIo "<dir>: not a directory" or another OS error.
Status ensure_state_directory(const std::filesystem::path& dir);

// The message for a path that open(2) with O_NOFOLLOW refused with ELOOP.
Status symlink_refused(const std::filesystem::path& path);

}  // namespace dslmodel::platform

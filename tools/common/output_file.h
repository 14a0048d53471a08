// Replacing a tool's output path safely (kite-convert's model, kite-generate's prompt cache): only a regular file (or nothing) may be
// replaced, the new contents go to a unique temporary file in the same folder (never
// through a symbolic link), and the temporary is renamed over the path only when complete.
// Temporaries are removed on failure and, once InstallTemporaryCleanupHandlers() ran, when
// SIGINT, SIGTERM or SIGHUP ends the process. Host tools only (POSIX).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "absl/status/status.h"

namespace kite::tools {

/// Checks that `path` may be replaced by a new file: it does not exist, or it is a regular
/// file. Anything else fails with FailedPrecondition naming the path and what it is: a
/// symbolic link (kite-convert never writes through a link, nor replaces one: pass the
/// link's target instead), a directory, a FIFO, a character or block device, a socket.
/// Looks only at the path's own metadata (lstat); never opens it. Thread-safe.
absl::Status CheckOutputReplaceable(const std::string& path);

/// Installs handlers for SIGINT, SIGTERM and SIGHUP that remove every temporary file of a
/// live PendingOutputFile (async-signal-safe: unlink only), then restore the default action
/// and re-raise the signal, so the process still dies of it. Call once, early in main(),
/// from a single thread. Signals whose disposition is not the default (ignored, or handled
/// by the program) are left alone.
void InstallTemporaryCleanupHandlers();

/// A file being written: a unique temporary beside `final_path`, named
/// "<final_path>.<6 random characters>.tmp", created with O_CREAT | O_EXCL | O_NOFOLLOW
/// (mode 0644 minus the umask), written through a 2 MiB stdio buffer (whole 2 MiB blocks at
/// 2 MiB-aligned offsets, so the page cache can hold the file in huge folios for the
/// runtime's mapping), and renamed over `final_path` by Commit(). Destroying it without a
/// successful Commit() removes the temporary. Not copyable or movable; one object is used
/// by one thread, different objects by different threads at once.
class PendingOutputFile {
 public:
  /// Remembers the final path; nothing is created before Open().
  explicit PendingOutputFile(std::string final_path);
  ~PendingOutputFile();
  PendingOutputFile(const PendingOutputFile&) = delete;
  PendingOutputFile& operator=(const PendingOutputFile&) = delete;

  /// Checks the final path (CheckOutputReplaceable) and creates the temporary. Errors name
  /// the path.
  absl::Status Open();
  /// Appends bytes; errors are sticky and reported by Commit().
  void Write(const void* data, size_t size);
  /// Bytes appended so far.
  uint64_t written() const { return written_; }
  /// The temporary's path ("" before Open()).
  const std::string& temporary_path() const { return tmp_; }

  /// Flushes, syncs and closes the temporary, checks the final path again, then renames
  /// the temporary over it. On any failure the temporary is removed and the final path is
  /// left as it was.
  absl::Status Commit();

 private:
  void SetError();
  void Discard();

  std::string final_;
  std::string tmp_;
  std::FILE* file_ = nullptr;
  std::unique_ptr<char[]> buffer_;  // stdio's buffer: file_ is closed before it is freed
  int cleanup_slot_ = -1;           // index in the signal handler's table, or -1
  bool ok_ = true;
  int errno_ = 0;
  uint64_t written_ = 0;
  bool committed_ = false;
};

}  // namespace kite::tools

// Read-only views of model bytes: a memory-mapped file, or memory the caller owns.
#pragma once

#include <cstddef>
#include <cstdint>

#include "sdk/base/status.h"

namespace kite {

/// A read-only byte range backed by a file mapping (owned) or by caller memory (borrowed).
/// Move-only. The bytes stay valid until the object is destroyed. Thread-compatible: the
/// bytes may be read from any thread concurrently.
class FileMap {
 public:
  FileMap() = default;
  FileMap(FileMap&& other);
  FileMap& operator=(FileMap&& other);
  FileMap(const FileMap&) = delete;
  FileMap& operator=(const FileMap&) = delete;
  ~FileMap();

  /// Maps the whole regular file at `path` read-only. Never blocks on a FIFO or device (the
  /// file is opened with OpenRegularFile, platform/input_file.h). Fails with kIo naming the
  /// path when it is missing, unreadable or not a regular file (saying what it is: a
  /// directory, a FIFO, a character device...), kInvalidFormat when it is empty.
  static Result<FileMap> OpenPath(const char* path);

  /// Maps the file open as `fd` (read-only; the descriptor is not closed and may be closed
  /// by the caller right after this call).
  static Result<FileMap> OpenFd(int fd);

  /// Reads the whole regular file at `path` into anonymous memory backed by transparent
  /// huge pages where the OS allows (2 MiB pages: far fewer TLB misses when kernels stream
  /// the weights). Costs a read of the file at open and private memory instead of shared
  /// page cache. Same errors as OpenPath.
  static Result<FileMap> ReadPathToHugePages(const char* path);

  /// Wraps caller memory without copying; the caller keeps it alive and unchanged for the
  /// lifetime of this object.
  static FileMap Borrow(const void* data, size_t size);

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  /// True when the bytes come from a mapping or buffer this object owns.
  bool is_mapped() const { return mapped_; }

 private:
  void Release();

  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  size_t mapped_size_ = 0;  // bytes to unmap (rounded up for huge-page buffers)
  bool mapped_ = false;
};

}  // namespace kite

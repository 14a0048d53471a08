// Loading a shared library at run time (dlopen on POSIX hosts: Linux, Android, macOS). The
// bare-metal port has none; nothing built for it loads libraries.
#pragma once

#include "sdk/base/status.h"

namespace kite {

/// An open shared library. Move-only; the destructor closes it (pointers from Symbol() are
/// then invalid). Thread-compatible: Symbol() may be called from several threads at once.
class DynamicLibrary {
 public:
  /// Opens the library `name` (a file name searched the platform's way, or a path), with
  /// its symbols resolved now and kept local. Fails with kUnsupported giving the name and
  /// the loader's reason ("cannot load 'libx.so.1': libx.so.1: cannot open shared object
  /// file: No such file or directory"). Thread-safe.
  static Result<DynamicLibrary> Open(const char* name);

  DynamicLibrary() = default;
  DynamicLibrary(DynamicLibrary&& other);
  DynamicLibrary& operator=(DynamicLibrary&& other);
  DynamicLibrary(const DynamicLibrary&) = delete;
  DynamicLibrary& operator=(const DynamicLibrary&) = delete;
  ~DynamicLibrary();

  /// The address of the exported symbol `name`, or null when the library has none (or is
  /// not open).
  void* Symbol(const char* name) const;

  bool is_open() const { return handle_ != nullptr; }

 private:
  void Close();

  void* handle_ = nullptr;
};

}  // namespace kite

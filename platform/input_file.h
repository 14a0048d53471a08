// Opening an input file (a model, checkpoint, tokenizer, text) without ever blocking on it.
#pragma once

#include <cstdint>

#include "sdk/base/status.h"

namespace kite {

/// What the file mode `st_mode` (from stat) is, as a noun phrase for messages: "a regular
/// file", "a directory", "a FIFO", "a character device", "a block device", "a socket", "a
/// symbolic link" or "a special file".
const char* FileKindName(unsigned st_mode);

/// Opens the file at `path` read-only as an input that must be a regular file, and stores
/// its size in bytes in `*size`. Never blocks: the open is non-blocking (a FIFO with no
/// writer, a terminal or a device does not hang the caller), then the descriptor is checked
/// with fstat and put back in blocking mode. Fails with kIo naming the (quoted) path and
/// what it is: "'f' is a FIFO, not a regular file", "... is a directory ...", "... is a
/// character device ...", or the OS error when it cannot be opened. On success the caller
/// owns the returned descriptor (close-on-exec) and closes it. When `os_error` is not null it
/// receives the errno of a failed open or fstat (ENOENT for a missing file), or 0. Thread-safe.
/// POSIX hosts only (not in the bare-metal port).
Result<int> OpenRegularFile(const char* path, uint64_t* size, int* os_error = nullptr);

}  // namespace kite

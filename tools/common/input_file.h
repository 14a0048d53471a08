// Host tools' reading of input files (checkpoints, tokenizers, JSON, text), on top of the
// platform's one non-blocking regular-file open (platform/input_file.h).
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace kite::tools {

/// Opens `path` with kite::OpenRegularFile: never blocks on a FIFO or device, and fails
/// with a message naming the quoted path and what it is ("is a FIFO, not a regular file").
/// Returns the descriptor (the caller closes it) and the size in bytes in `*size`. A missing
/// file is kNotFound, another open error the errno's code, a non-regular file
/// kInvalidArgument.
absl::StatusOr<int> OpenInputFile(const std::string& path, uint64_t* size);

/// Reads the whole regular file at `path` (opened as by OpenInputFile). Errors name the
/// quoted path.
absl::StatusOr<std::string> ReadInputFile(const std::string& path);

}  // namespace kite::tools

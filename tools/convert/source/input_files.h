// Recognizing converter inputs: which format a path holds, and where the tokenizer of a
// llama2.c checkpoint is. Host tools only.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace kite::convert {

/// Formats an input path may hold. Only kLlama2c converts today; the others are recognized
/// so the user gets a precise "not supported yet" instead of a confusing parse error.
enum class InputFormat {
  kLlama2c,          ///< llama2.c legacy checkpoint (no magic; the reader validates it)
  kLlama2cExport,    ///< llama2.c version 1/2 export (magic "ak42")
  kGguf,             ///< GGUF (magic "GGUF")
  kKite,             ///< already a .kite file
  kSafetensors,      ///< a single .safetensors file
  kHuggingFaceDir,   ///< a folder with config.json
  kDirectory,        ///< some other folder
};

/// Human-readable name of a format ("llama2.c checkpoint", "GGUF", ...).
const char* InputFormatName(InputFormat format);

/// Looks at `path` (its type and first bytes) and names its format. Fails with NotFound
/// when it does not exist or cannot be read.
absl::StatusOr<InputFormat> DetectInputFormat(const std::string& path);

/// Finds the tokenizer of a llama2.c checkpoint in the checkpoint's folder: first
/// "tok<vocab_size>.bin", then "tokenizer.bin". Returns the path of the first that is a
/// regular file, or NotFound naming the paths tried and how to pass --tokenizer.
absl::StatusOr<std::string> FindTokenizerBeside(const std::string& checkpoint,
                                                uint32_t vocab_size);

}  // namespace kite::convert

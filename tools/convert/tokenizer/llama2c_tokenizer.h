// Reader for llama2.c tokenizer files (tokenizer.bin, tok512.bin, ...). Host tools only.
//
// Format (little-endian): uint32 max_token_length, then vocab_size entries of
// (float32 score, uint32 len, len bytes of piece, no NUL). The file does not store
// vocab_size: it comes from the model checkpoint's header.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "tools/convert/tokenizer/tokenizer_tables.h"

namespace kite::convert {

/// Longest piece, in bytes, that the reader accepts (a sanity bound against corrupt files;
/// real llama2.c vocabularies stay under 64).
inline constexpr uint32_t kMaxLlama2cPieceBytes = 1024;

/// Parses a llama2.c tokenizer from `bytes`, which must hold exactly `vocab_size` entries.
/// Assigns llama2.c's fixed ids: unk 0 (UNKNOWN when spelled "<unk>"), BOS 1 and EOS 2
/// (CONTROL); pieces spelled exactly "<0xHH>" become BYTE tokens, all others NORMAL.
/// stop_ids = {EOS, BOS}; add_dummy_prefix = true. Returns finalized tables.
/// Errors (InvalidArgument for a bad vocab_size, DataLoss for a malformed file) name
/// `name_for_errors`, the token index and the problem. Pure function, thread-safe.
absl::StatusOr<TokenizerTables> ParseLlama2cTokenizer(absl::string_view bytes,
                                                      int32_t vocab_size,
                                                      absl::string_view name_for_errors);

/// Reads and parses the llama2.c tokenizer file at `path` (see ParseLlama2cTokenizer).
/// `vocab_size` is the model's vocabulary size. NotFound when the file cannot be opened,
/// DataLoss when it cannot be read, else the parser's errors (naming `path`).
absl::StatusOr<TokenizerTables> ReadLlama2cTokenizer(const std::string& path,
                                                     int32_t vocab_size);

}  // namespace kite::convert

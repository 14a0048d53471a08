// Byte-level BPE vocabularies (GPT-2, Llama 3, Qwen2) as GGUF and Hugging Face store them,
// turned into Kite tokenizer tables. Host tools only.
//
// Those files spell every piece in GPT-2's "byte-to-unicode" form: each byte is one code
// point (printable Latin-1 bytes stand for themselves, the others map to U+0100..U+0143,
// e.g. space -> 'Ġ' U+0120, LF -> 'Ċ' U+010A). Kite stores the raw bytes instead, so that
// decoding is a copy.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "tools/convert/tokenizer/tokenizer_tables.h"

namespace kite::convert {

/// The code point GPT-2's byte-level alphabet uses for byte `b`.
uint32_t ByteToUnicode(uint8_t b);

/// Converts a byte-level spelling to its raw bytes. False (and *out unspecified) when
/// `s` is not valid UTF-8 or holds a code point outside the 256-symbol alphabet.
bool ByteLevelToBytes(absl::string_view s, std::string* out);

/// The byte-level spelling of raw bytes (inverse of ByteLevelToBytes).
std::string BytesToByteLevel(absl::string_view bytes);

/// A byte-level BPE vocabulary as the source files give it.
struct ByteBpeSource {
  std::vector<std::string> tokens;  ///< byte-level spelling (special tokens: literal text)
  std::vector<uint8_t> types;       ///< TokenType per token (empty: all NORMAL)
  /// Merges in rank order (the first merges first), as (left, right) byte-level spellings.
  std::vector<std::pair<std::string, std::string>> merges;
  PreTokenizerType pretokenizer = PreTokenizerType::GPT2;
  std::vector<SplitRuleTables> split_rules;  ///< pretokenizer SPLIT only
  bool ignore_merges = false;
  int8_t prefix_space_stage = -1;  ///< TokenizerTables::prefix_space_stage
  NormalizerType normalizer = NormalizerType::NONE;
  int32_t bos_id = -1;
  int32_t eos_id = -1;
  int32_t unk_id = -1;
  std::vector<int32_t> stop_ids;
  bool add_bos = false;
};

/// Builds finalized kByteBpe tables. NORMAL pieces are converted to raw bytes (a piece
/// that is not valid byte-level text is kept verbatim); CONTROL, USER_DEFINED and other
/// pieces keep their literal text. A merge whose left, right or joined piece is not a
/// NORMAL or USER_DEFINED piece of the vocabulary, whose joined piece is not the other two
/// joined, or that repeats an earlier pair, is dropped and counted in
/// *dropped_merges (may be null). Fails (InvalidArgument) when a token id or type is out of
/// range or the vocabulary is empty. A byte with no single-byte piece is allowed (the
/// runtime then refuses text holding that byte).
absl::StatusOr<TokenizerTables> BuildByteBpeTables(const ByteBpeSource& source,
                                                   size_t* dropped_merges);

}  // namespace kite::convert

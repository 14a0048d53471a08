// Pre-tokenization for byte-level BPE: splits text into the pieces that merge separately,
// exactly as the original tokenizers' regular expressions do, implemented by hand (no regex
// engine, no heap). Host and firmware code.
//
//   GPT-2   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//   Llama 3 (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
//            ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
//   Qwen2   as Llama 3 with \p{N} (one digit) instead of \p{N}{1,3}
//   SmolLM  every \p{N} character alone, then GPT-2 on the text between them (Hugging
//           Face's Digits(individual_digits) + ByteLevel; llama.cpp's "smollm")
//
// \p{L} and \p{N} are the Unicode general categories L* and N*, \s the White_Space property
// (sdk/runtime/tokenizer/unicode_tables.h). A byte that does not start valid UTF-8 counts as one
// character of none of these classes.
#pragma once

#include <cstddef>
#include <cstdint>

#include "sdk/runtime/tokenizer/tokenizer.h"

namespace kite {

/// Class of a code point as the pre-tokenizer regexes see it.
enum class CharClass : uint8_t { kOther = 0, kLetter = 1, kNumber = 2, kWhitespace = 3 };

/// The class of code point `cp`.
CharClass ClassifyCodepoint(uint32_t cp);

/// Decodes the UTF-8 character at text[pos] (pos < len): stores its code point in *cp and
/// returns its length in bytes. Invalid or truncated sequences, overlong forms and
/// surrogates give length 1 and *cp = kInvalidCodepoint.
size_t DecodeUtf8(const char* text, size_t len, size_t pos, uint32_t* cp);

/// Code point reported for a byte that does not start valid UTF-8.
inline constexpr uint32_t kInvalidCodepoint = 0xFFFFFFFFu;

/// The end of the pre-token that starts at text[pos] (pos < len): a position in
/// (pos, len]. NONE returns len (the whole rest is one piece); so does SPLIT, whose stages
/// split_regex.h SplitText runs.
size_t NextPreToken(PreTokenizerType kind, const char* text, size_t len, size_t pos);

}  // namespace kite

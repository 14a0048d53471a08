// Byte-level BPE encoding (GPT-2, Llama 3, Qwen2), the half of Tokenizer::Encode for
// TokenizerType::BYTE_BPE. Internal to sdk/runtime.
#pragma once

#include <cstddef>
#include <cstdint>

#include "sdk/base/status.h"
#include "sdk/runtime/tokenizer/tokenizer.h"

namespace kite {

/// Encodes `len` bytes of `text` with the byte-level BPE tables of `v` (kind kByteBpe):
/// BOS first when `add_bos` and the model has one; USER_DEFINED pieces found in the text
/// (longest first, leftmost) become their ids; the text between them is split by the
/// pre-tokenizer (pretokenizer.h, or split_regex.h for SPLIT) and each pre-token merged
/// separately. `out` holds the result and is the working space: it needs one entry
/// per byte of text (plus BOS), else kOutOfMemory naming the capacity needed; with three
/// times that much the merges run in O(n log n) per pre-token, else by rescanning (the same
/// result). A byte without a single-byte piece fails with kInvalidArgument. No heap.
Status EncodeByteBpe(const TokenizerView& v, const char* text, size_t len, bool add_bos,
                     int32_t* out, size_t capacity, size_t* n_out);

/// Fills v->user_first_bytes and v->max_user_length from the USER_DEFINED pieces of `v`
/// (byte-level BPE only; other kinds get none). No heap.
void IndexUserDefinedTokens(TokenizerView* v);

/// The lowest id of a NORMAL or USER_DEFINED piece spelled exactly bytes[0..n), or -1
/// (binary search of sorted_ids).
int32_t FindTextPieceBytes(const TokenizerView& v, const char* bytes, size_t n);

}  // namespace kite

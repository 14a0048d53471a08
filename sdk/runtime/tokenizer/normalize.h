// Unicode normalization (NFC, NFKC) of UTF-8 text for the byte-level BPE encoder, as
// Hugging Face's NFC / NFKC normalizers do before pre-tokenization. Host and firmware code:
// no heap, no exceptions; the output goes to a caller buffer and the only working state is a
// fixed array on the stack.
//
// The algorithm is UAX #15's: full decomposition (canonical for NFC, compatibility for
// NFKC; Hangul arithmetically), canonical ordering of each run of combining marks (stable
// by combining class), then canonical composition. Tables: normalization_tables.h. Bytes
// that are not valid UTF-8 pass through unchanged and block composition across them. A run
// of more than kMaxCombiningRun combining marks after one starter (text outside UAX #15's
// stream-safe format, which allows 30) is ordered and composed in pieces of that length,
// so such text may differ from the full algorithm; anything else matches Python's
// unicodedata.normalize of the same Unicode version.
#pragma once

#include <cstddef>

#include "sdk/format/format.h"

namespace kite {

/// Most code points (a starter and its combining marks) ordered and composed together.
inline constexpr size_t kMaxCombiningRun = 32;

/// A fast, conservative test: true when text[0..len) is certainly already in `form` (all
/// ASCII, or no code point that the form could change; invalid bytes do not count). False
/// means NormalizeText may or may not change it. NONE is always true. Thread-safe.
bool IsNormalizedQuick(NormalizerType form, const char* text, size_t len);

/// Writes the normalization `form` of the UTF-8 text[0..len) to out[0..capacity) (at most
/// `capacity` bytes, the rest dropped; out may be null when capacity is 0) and returns its
/// full length in bytes, so NormalizeText(form, text, len, nullptr, 0) measures it. `out`
/// must not overlap `text`. NONE copies. Thread-safe.
size_t NormalizeText(NormalizerType form, const char* text, size_t len, char* out,
                     size_t capacity);

/// NormalizeText(form, text, len, nullptr, 0): the length of the normalized text.
inline size_t NormalizedLength(NormalizerType form, const char* text, size_t len) {
  return NormalizeText(form, text, len, nullptr, 0);
}

}  // namespace kite

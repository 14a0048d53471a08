// Normalization of UTF-8 text for the byte-level BPE encoder, as Hugging Face's normalizers
// do before pre-tokenization: the Unicode forms (NFC, NFKC, NFD, NFKD), and the steps of a
// stored pipeline (Lowercase, Strip, Replace, Prepend; NormalizerStep). Host and firmware
// code: no heap, no exceptions; the output goes to a caller buffer and the only working
// state is a fixed array on the stack.
//
// Lowercase maps each code point to its full lowercase mapping (Rust's char::to_lowercase,
// which Hugging Face's Lowercase uses: UnicodeData's simple mappings plus U+0130 -> "i"
// U+0307; no final-sigma rule), from the Unicode version of the tables. Strip removes
// White_Space code points. Replace is literal, leftmost first, non-overlapping. Prepend
// leaves empty text empty. Invalid UTF-8 bytes pass through every step unchanged.
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
#include <cstdint>

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

/// Most steps in a normalizer pipeline.
inline constexpr uint32_t kMaxNormalizerSteps = 8;
/// Longest REPLACE pattern or content, and PREPEND content, in bytes.
inline constexpr size_t kMaxNormalizerText = 64;
/// Most UTF-8 bytes NFC / NFD make of one input byte (UAX #15: a 4-byte code point
/// becomes three; test/tokenizer/normalize_test.cc checks it against the tables).
inline constexpr size_t kNfcGrowth = 3;
/// The same for NFKC / NFKD (U+FDFA: 3 bytes become 33).
inline constexpr size_t kNfkcGrowth = 11;

/// One step of a normalizer pipeline (sdk/schema/kite.fbs table NormalizerStep); the strings
/// are borrowed (normally from the mapped file) and not NUL-terminated.
struct NormalizerStep {
  NormalizerStepKind kind = NormalizerStepKind::NFC;
  bool strip_left = false;   ///< STRIP
  bool strip_right = false;  ///< STRIP
  const char* pattern = nullptr;  ///< REPLACE: the literal text replaced
  size_t pattern_size = 0;
  const char* content = nullptr;  ///< REPLACE: the replacement; PREPEND: the text put first
  size_t content_size = 0;
};

/// Writes `step` applied to text[0..len) to out[0..capacity), as NormalizeText (returns the
/// full length; out may be null when capacity is 0; no overlap). Thread-safe.
size_t ApplyNormalizerStep(const NormalizerStep& step, const char* text, size_t len, char* out,
                           size_t capacity);

/// A fast, conservative test: true when `step` certainly leaves text[0..len) unchanged.
bool IsStepNoOpQuick(const NormalizerStep& step, const char* text, size_t len);

/// Upper bound of ApplyNormalizerStep's length for any `len` bytes of input (SIZE_MAX when it
/// overflows): NFC/NFD x kNfcGrowth, NFKC/NFKD x kNfkcGrowth, Lowercase x 3/2, Strip x 1,
/// Replace x content/pattern (when longer), Prepend + its length.
size_t NormalizerStepBound(const NormalizerStep& step, size_t len);

/// NormalizerStepBound of steps[0..n) in turn: the most bytes the pipeline makes of `len`.
size_t NormalizerPipelineBound(const NormalizerStep* steps, uint32_t n, size_t len);

/// Where ApplyNormalizerPipeline left the result.
struct NormalizedText {
  const char* text;  ///< the caller's text when no step changed it, else inside scratch
  size_t size;
  /// Bytes of scratch in use (the result, right-aligned at its end; 0 when text is the
  /// caller's). On failure: the scratch bytes the failing step needed (a lower bound of
  /// what the whole pipeline needs).
  size_t scratch_needed;
};

/// Applies steps[0..n) in order to text[0..len). Each step's output is measured, written
/// just before its input in `scratch` and moved to the end of scratch, so scratch must hold
/// one step's input and output at once. Returns false (result->scratch_needed set) when it
/// cannot. `text` must not lie in scratch. No heap; thread-safe.
bool ApplyNormalizerPipeline(const NormalizerStep* steps, uint32_t n, const char* text,
                             size_t len, char* scratch, size_t scratch_size,
                             NormalizedText* result);

}  // namespace kite

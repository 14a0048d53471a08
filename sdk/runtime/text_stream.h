// The text a generation hands to its token callback: whole UTF-8 characters only, and
// never the text of a stop string. Pieces go in token by token; what is safe to show
// comes out, and the rest is held back (in fixed buffers: nothing is allocated).
#pragma once

#include <cstddef>
#include <cstdint>

#include "sdk/base/status.h"

namespace kite {

/// Most stop strings one generation takes. KITE_MAX_STOP_STRINGS mirrors it.
inline constexpr uint32_t kMaxStopStrings = 8;
/// Longest stop string, in bytes. KITE_MAX_STOP_STRING_BYTES mirrors it.
inline constexpr uint32_t kMaxStopStringBytes = 64;

/// Turns token pieces into the text shown to the caller. Two stages:
///  - UTF-8 (unless `raw`): an incomplete character at the end of the text so far is held
///    until its last byte arrives; an ill-formed sequence (each maximal ill-formed subpart,
///    or a character still incomplete at Flush) becomes U+FFFD, so the output is always
///    valid UTF-8. With `raw`, the bytes pass as they are.
///  - stop strings: the end of the text that could be the start of a stop string is held
///    back; once a stop string completes, the text before it is the last output and the
///    stop string and anything after it are dropped. Matching runs on the first stage's
///    output.
/// With `raw` and no stop strings, Push() returns each piece itself (today's per-token
/// pieces). Not thread-safe; one per generation.
class TextStream {
 public:
  /// Bytes of output buffer a stream needs when no piece is longer than `max_piece_bytes`
  /// (the session plans it in its arena).
  static size_t BufferBytes(uint32_t max_piece_bytes);

  /// Checks `stop` (`n_stop` NUL-terminated strings, borrowed until the stream is done):
  /// n_stop <= kMaxStopStrings, `stop` non-null when n_stop > 0, each string non-null,
  /// non-empty, at most kMaxStopStringBytes and valid UTF-8. The message names the field
  /// ("n_stop", "stop[2]").
  static Status ValidateStopStrings(const char* const* stop, size_t n_stop);

  TextStream() = default;
  /// `buffer` (`capacity` >= BufferBytes() of the longest piece) outlives the stream;
  /// `stop` was checked by ValidateStopStrings.
  TextStream(char* buffer, size_t capacity, const char* const* stop, size_t n_stop, bool raw);

  /// Adds a token's piece (NUL-terminated; at most the max_piece_bytes of BufferBytes).
  /// Returns the text now safe to show (NUL-terminated, maybe ""), valid until the next
  /// call. *stopped is set when a stop string completed: then call nothing more.
  const char* Push(const char* piece, bool* stopped);

  /// Ends the stream: returns the text still held back (maybe ""; always "" after a stop
  /// string), valid until the next call.
  const char* Flush();

 private:
  // Appends one byte of the stream to out_, through the UTF-8 stage.
  void AppendByte(uint8_t b);
  // Appends U+FFFD to out_.
  void AppendReplacement();
  // Appends the held partial character to out_ as U+FFFD (when there is one).
  void FlushPartial();
  // Starts out_ with the text the stop stage held back.
  void TakeHeld();

  char* out_ = nullptr;
  size_t capacity_ = 0;
  size_t len_ = 0;
  const char* const* stop_ = nullptr;
  uint32_t n_stop_ = 0;
  size_t stop_len_[kMaxStopStrings] = {};
  bool raw_ = false;
  // UTF-8 stage: the bytes of an incomplete character and the length it will have.
  uint8_t partial_[4] = {};
  uint32_t n_partial_ = 0;
  uint32_t partial_need_ = 0;
  // Stop stage: text that may be the start of a stop string.
  char held_[kMaxStopStringBytes] = {};
  size_t n_held_ = 0;
  bool ended_ = false;  // a stop string completed: nothing more is shown
};

}  // namespace kite

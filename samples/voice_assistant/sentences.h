// Splits text that arrives in pieces (a model's streamed tokens) into complete sentences,
// so that each can be spoken as soon as it is complete. Pure; one object per stream, used
// by one thread at a time. Host only.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace kite::voice {

/// The splitter. A sentence ends at '.', '!' or '?' (runs of them, and closing quotes or
/// brackets after them, ASCII or ” ’ », stay with the sentence) once the next character is
/// whitespace,
/// and at once after the full-width "。", "！", "？" and at a blank line. It does not end
/// at a '.' after a known abbreviation ("Mr.", "Dr.", "e.g." ...), after a single capital
/// letter (an initial: "J. R. R."), or inside a number ("3.14": no space follows). A '.'
/// after a number ("in 1999. Then") does end one. A sentence longer than `max_bytes` is
/// cut at its last space before that length, so that speech never waits for very long
/// unpunctuated text. Sentences come out trimmed of surrounding whitespace, never empty,
/// and never split inside a UTF-8 character.
class SentenceSplitter {
 public:
  /// `max_bytes`: longest sentence before a forced cut at a space (>= 16; smaller values
  /// are taken as 16).
  explicit SentenceSplitter(size_t max_bytes = 300);

  /// Appends `text` and moves every sentence it completes to the end of *out.
  void Push(std::string_view text, std::vector<std::string>* out);

  /// Ends the stream: returns what is left (trimmed; "" when nothing) and empties the
  /// splitter for a new stream.
  std::string Flush();

 private:
  // Finds the next sentence end in pending_ from scan_; true with *end (one past the
  // sentence's last byte) when found.
  bool FindEnd(size_t* end);
  void Emit(size_t end, std::vector<std::string>* out);

  size_t max_bytes_;
  std::string pending_;
  size_t scan_ = 0;  // bytes of pending_ already known to hold no sentence end
};

}  // namespace kite::voice

// Safe display of untrusted bytes (names read from input files, user paths) in messages.
#pragma once

#include <cstddef>

namespace kite {

/// A printable, single-quoted rendering of untrusted bytes, held in a fixed buffer (no heap),
/// for use as a printf `%s` argument: `Status::Make(..., "tensor %s is missing",
/// Quoted(name).c_str())`. Printable ASCII and well-formed UTF-8 (except C1 controls) pass
/// through; a quote or backslash is escaped with a backslash; \n, \r and \t are written as
/// such; any other control byte, an embedded NUL, a C1 control and every byte of an
/// ill-formed UTF-8 sequence become `\xHH`. Inputs longer than kMaxInputBytes are cut there
/// (a character cut in two shows as `\xHH`) and marked with `...` after the closing quote.
/// Thread-compatible.
class Quoted {
 public:
  /// Bytes of input shown at most; the rest is elided.
  static constexpr size_t kMaxInputBytes = 64;
  /// Buffer size: two quotes, four output bytes per input byte, "...", NUL.
  static constexpr size_t kCapacity = 2 + 4 * kMaxInputBytes + 3 + 1;

  /// Quotes the NUL-terminated string `text` (nullptr is shown as `(null)`, unquoted).
  explicit Quoted(const char* text);
  /// Quotes `size` bytes at `data`, which may contain NUL bytes.
  Quoted(const void* data, size_t size);

  Quoted(const Quoted&) = delete;
  Quoted& operator=(const Quoted&) = delete;

  /// The quoted text, NUL-terminated; valid while this object lives.
  const char* c_str() const { return text_; }

 private:
  void Build(const unsigned char* data, size_t size);

  char text_[kCapacity];
};

}  // namespace kite

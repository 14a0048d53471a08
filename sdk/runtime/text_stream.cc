#include "sdk/runtime/text_stream.h"

#include <algorithm>
#include <cstring>

#include "sdk/runtime/tokenizer/pretokenizer.h"

namespace kite {
namespace {

// Length of the UTF-8 character that lead byte `b` starts (2..4), or 0 when `b` starts none.
uint32_t SequenceLength(uint8_t b) {
  if (b >= 0xC2 && b <= 0xDF) return 2;
  if (b >= 0xE0 && b <= 0xEF) return 3;
  if (b >= 0xF0 && b <= 0xF4) return 4;
  return 0;
}

// Whether `b` may follow `lead` as its second byte (this excludes overlong forms,
// surrogates and code points above U+10FFFF); later bytes need only be 0x80..0xBF.
bool ValidSecondByte(uint8_t lead, uint8_t b) {
  uint8_t lo = 0x80, hi = 0xBF;
  if (lead == 0xE0) lo = 0xA0;
  if (lead == 0xED) hi = 0x9F;
  if (lead == 0xF0) lo = 0x90;
  if (lead == 0xF4) hi = 0x8F;
  return b >= lo && b <= hi;
}

// Length of the NUL-terminated `s`, or `limit` + 1 when it is longer than `limit`.
size_t BoundedLength(const char* s, size_t limit) {
  size_t n = 0;
  while (n <= limit && s[n] != '\0') ++n;
  return n;
}

constexpr char kReplacement[] = "\xEF\xBF\xBD";  // U+FFFD

}  // namespace

size_t TextStream::BufferBytes(uint32_t max_piece_bytes) {
  // Held stop text, then the held partial character and the piece, each byte of which
  // becomes at most 3 (U+FFFD), then the NUL.
  return kMaxStopStringBytes + 3 * (static_cast<size_t>(max_piece_bytes) + 4) + 1;
}

Status TextStream::ValidateStopStrings(const char* const* stop, size_t n_stop) {
  KITE_CHECK_OR_RETURN(n_stop <= kMaxStopStrings, Error::kInvalidArgument,
                       "n_stop %zu is more than the %u stop strings allowed", n_stop,
                       kMaxStopStrings);
  KITE_CHECK_OR_RETURN(stop != nullptr || n_stop == 0, Error::kInvalidArgument,
                       "stop is null but n_stop is %zu", n_stop);
  for (size_t i = 0; i < n_stop; ++i) {
    KITE_CHECK_OR_RETURN(stop[i] != nullptr, Error::kInvalidArgument, "stop[%zu] is null", i);
    const size_t len = BoundedLength(stop[i], kMaxStopStringBytes);
    KITE_CHECK_OR_RETURN(len > 0, Error::kInvalidArgument, "stop[%zu] is empty", i);
    KITE_CHECK_OR_RETURN(len <= kMaxStopStringBytes, Error::kInvalidArgument,
                         "stop[%zu] is longer than %u bytes", i, kMaxStopStringBytes);
    for (size_t pos = 0; pos < len;) {
      uint32_t cp = 0;
      const size_t at = pos;
      pos += DecodeUtf8(stop[i], len, pos, &cp);
      KITE_CHECK_OR_RETURN(cp != kInvalidCodepoint, Error::kInvalidArgument,
                           "stop[%zu] is not valid UTF-8 (at byte %zu)", i, at);
    }
  }
  return Status::Ok();
}

TextStream::TextStream(char* buffer, size_t capacity, const char* const* stop, size_t n_stop,
                       bool raw)
    : out_(buffer),
      capacity_(capacity),
      stop_(stop),
      n_stop_(static_cast<uint32_t>(n_stop)),
      raw_(raw) {
  for (uint32_t i = 0; i < n_stop_; ++i) stop_len_[i] = std::strlen(stop[i]);
}

void TextStream::AppendReplacement() {
  std::memcpy(out_ + len_, kReplacement, 3);
  len_ += 3;
}

void TextStream::FlushPartial() {
  if (n_partial_ > 0) AppendReplacement();
  n_partial_ = 0;
}

void TextStream::AppendByte(uint8_t b) {
  if (raw_) {
    out_[len_++] = static_cast<char>(b);
    return;
  }
  if (n_partial_ > 0) {
    const bool fits = n_partial_ == 1 ? ValidSecondByte(partial_[0], b) : (b & 0xC0) == 0x80;
    if (fits) {
      partial_[n_partial_++] = b;
      if (n_partial_ == partial_need_) {
        std::memcpy(out_ + len_, partial_, n_partial_);
        len_ += n_partial_;
        n_partial_ = 0;
      }
      return;
    }
    FlushPartial();  // a maximal ill-formed subpart; `b` starts afresh
  }
  if (b < 0x80) {
    out_[len_++] = static_cast<char>(b);
    return;
  }
  partial_need_ = SequenceLength(b);
  if (partial_need_ == 0) {
    AppendReplacement();
    return;
  }
  partial_[n_partial_++] = b;
}

void TextStream::TakeHeld() {
  std::memcpy(out_, held_, n_held_);
  len_ = n_held_;
  n_held_ = 0;
}

const char* TextStream::Push(const char* piece, bool* stopped) {
  *stopped = false;
  if (raw_ && n_stop_ == 0) return piece;
  TakeHeld();
  for (const char* p = piece; *p != '\0' && len_ + 4 < capacity_; ++p) {
    AppendByte(static_cast<uint8_t>(*p));
  }
  // The complete stop string that starts first ends the text before it.
  size_t end = len_;
  for (uint32_t s = 0; s < n_stop_; ++s) {
    const size_t m = stop_len_[s];
    for (size_t at = 0; at < end && at + m <= len_; ++at) {
      if (std::memcmp(out_ + at, stop_[s], m) == 0) {
        end = at;
        *stopped = true;
        break;
      }
    }
  }
  if (*stopped) {
    len_ = end;
    ended_ = true;
  } else {
    // Hold back the longest end of the text that begins some stop string. Stop strings are
    // valid UTF-8, so in UTF-8 mode it starts at a character boundary.
    size_t hold = 0;
    for (uint32_t s = 0; s < n_stop_; ++s) {
      for (size_t k = std::min(stop_len_[s] - 1, len_); k > hold; --k) {
        if (std::memcmp(out_ + len_ - k, stop_[s], k) == 0) {
          hold = k;
          break;
        }
      }
    }
    len_ -= hold;
    std::memcpy(held_, out_ + len_, hold);
    n_held_ = hold;
  }
  out_[len_] = '\0';
  return out_;
}

const char* TextStream::Flush() {
  if ((raw_ && n_stop_ == 0) || ended_) return "";
  TakeHeld();
  if (!raw_) FlushPartial();
  out_[len_] = '\0';
  return out_;
}

}  // namespace kite

#include "sdk/base/quote.h"

#include <cstring>

namespace kite {
namespace {

// Length of the well-formed UTF-8 sequence at `p` (at most `n` bytes available) that may be
// shown as is, or 0 when it is ill-formed, overlong, a surrogate, beyond U+10FFFF or a C1
// control (U+0080..U+009F, which some terminals act on like ESC).
size_t ShowableUtf8(const unsigned char* p, size_t n) {
  const unsigned char b = p[0];
  size_t len = 0;
  unsigned cp = 0;
  if (b >= 0xC2 && b <= 0xDF) {
    len = 2;
    cp = b & 0x1Fu;
  } else if (b >= 0xE0 && b <= 0xEF) {
    len = 3;
    cp = b & 0x0Fu;
  } else if (b >= 0xF0 && b <= 0xF4) {
    len = 4;
    cp = b & 0x07u;
  } else {
    return 0;
  }
  if (len > n) return 0;
  for (size_t i = 1; i < len; ++i) {
    if ((p[i] & 0xC0u) != 0x80u) return 0;
    cp = cp << 6 | (p[i] & 0x3Fu);
  }
  const unsigned min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < min_cp[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  if (cp >= 0x80 && cp <= 0x9F) return 0;
  return len;
}

}  // namespace

Quoted::Quoted(const char* text) {
  if (text == nullptr) {
    std::memcpy(text_, "(null)", 7);
    return;
  }
  Build(reinterpret_cast<const unsigned char*>(text), std::strlen(text));
}

Quoted::Quoted(const void* data, size_t size) {
  if (data == nullptr && size != 0) {
    std::memcpy(text_, "(null)", 7);
    return;
  }
  Build(static_cast<const unsigned char*>(data), size);
}

void Quoted::Build(const unsigned char* data, size_t size) {
  static const char kHex[] = "0123456789abcdef";
  char* out = text_;
  *out++ = '\'';
  const size_t shown = size < kMaxInputBytes ? size : kMaxInputBytes;
  size_t i = 0;
  while (i < shown) {
    const unsigned char b = data[i];
    if (b >= 0x20 && b < 0x7F) {
      if (b == '\'' || b == '\\') *out++ = '\\';
      *out++ = static_cast<char>(b);
      ++i;
      continue;
    }
    if (b == '\n' || b == '\r' || b == '\t') {
      *out++ = '\\';
      *out++ = b == '\n' ? 'n' : b == '\r' ? 'r' : 't';
      ++i;
      continue;
    }
    // A multi-byte character is shown only when it fits whole within the shown bytes.
    const size_t len = b >= 0x80 ? ShowableUtf8(data + i, shown - i) : 0;
    if (len != 0) {
      std::memcpy(out, data + i, len);
      out += len;
      i += len;
      continue;
    }
    *out++ = '\\';
    *out++ = 'x';
    *out++ = kHex[b >> 4];
    *out++ = kHex[b & 15];
    ++i;
  }
  *out++ = '\'';
  if (shown < size) {
    std::memcpy(out, "...", 3);
    out += 3;
  }
  *out = '\0';
}

}  // namespace kite

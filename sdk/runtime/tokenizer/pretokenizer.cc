#include "sdk/runtime/tokenizer/pretokenizer.h"

#include "sdk/runtime/tokenizer/unicode_tables.h"

namespace kite {

namespace unicode {

bool InRanges(const unicode::CodepointRange* ranges, uint32_t count, uint32_t cp) {
  uint32_t lo = 0;
  uint32_t hi = count;
  while (lo < hi) {
    const uint32_t mid = lo + (hi - lo) / 2;
    if (cp < ranges[mid].first) {
      hi = mid;
    } else if (cp > ranges[mid].last) {
      lo = mid + 1;
    } else {
      return true;
    }
  }
  return false;
}

}  // namespace unicode

namespace {

using unicode::InRanges;


// One decoded character of the text.
struct Char {
  uint32_t cp;
  size_t len;
  CharClass cls;
};

class Scanner {
 public:
  Scanner(const char* text, size_t len) : text_(text), len_(len) {}

  size_t len() const { return len_; }

  // The character at pos (pos < len).
  Char At(size_t pos) const {
    Char c;
    c.len = DecodeUtf8(text_, len_, pos, &c.cp);
    c.cls = ClassifyCodepoint(c.cp);
    return c;
  }

  // The end of the run of characters from pos that satisfy `pred`.
  template <typename Pred>
  size_t RunWhile(size_t pos, Pred pred) const {
    while (pos < len_) {
      const Char c = At(pos);
      if (!pred(c)) break;
      pos += c.len;
    }
    return pos;
  }

  // Contractions 's 't 're 've 'm 'll 'd at pos; returns their end or 0.
  size_t Contraction(size_t pos, bool ignore_case) const {
    if (text_[pos] != '\'') return 0;
    static const char* const kSuffixes[] = {"s", "t", "re", "ve", "m", "ll", "d"};
    for (const char* suffix : kSuffixes) {
      size_t i = 0;
      for (; suffix[i] != '\0'; ++i) {
        if (pos + 1 + i >= len_) break;
        char c = text_[pos + 1 + i];
        if (ignore_case && c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        if (c != suffix[i]) break;
      }
      if (suffix[i] == '\0') return pos + 1 + i;
    }
    return 0;
  }

  // \s+(?!\S) then \s+ at pos, where the character at pos is whitespace: the whole run when
  // it ends the text or is a single character, else the run minus its last character (left
  // to start the next word). With `digits_end_text`, a run that stops at a \p{N} character
  // counts as ending the text (SmolLM splits at every digit first).
  size_t WhitespaceRun(size_t pos, bool digits_end_text = false) const {
    size_t last_start = pos;
    size_t end = pos;
    CharClass stop = CharClass::kOther;
    while (end < len_) {
      const Char c = At(end);
      stop = c.cls;
      if (c.cls != CharClass::kWhitespace) break;
      last_start = end;
      end += c.len;
    }
    if (end == len_ || last_start == pos) return end;
    if (digits_end_text && stop == CharClass::kNumber) return end;
    return last_start;
  }

 private:
  const char* text_;
  size_t len_;
};

bool IsLetter(const Char& c) { return c.cls == CharClass::kLetter; }
bool IsNumber(const Char& c) { return c.cls == CharClass::kNumber; }
bool IsSpace(const Char& c) { return c.cls == CharClass::kWhitespace; }
bool IsOther(const Char& c) { return c.cls == CharClass::kOther; }  // [^\s\p{L}\p{N}]
bool IsNewline(const Char& c) { return c.cp == '\r' || c.cp == '\n'; }

size_t NextGpt2(const Scanner& s, size_t pos, bool isolate_digits) {
  if (const size_t end = s.Contraction(pos, /*ignore_case=*/false)) return end;
  const Char c = s.At(pos);
  if (isolate_digits && IsNumber(c)) return pos + c.len;
  const bool has_next = pos + c.len < s.len();
  const Char next = has_next ? s.At(pos + c.len) : Char{0, 0, CharClass::kWhitespace};
  const bool space = c.cp == ' ';
  // ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`
  if (space && has_next && IsLetter(next)) return s.RunWhile(pos + 1, IsLetter);
  if (IsLetter(c)) return s.RunWhile(pos, IsLetter);
  if (!isolate_digits && space && has_next && IsNumber(next)) return s.RunWhile(pos + 1, IsNumber);
  if (IsNumber(c)) return s.RunWhile(pos, IsNumber);
  if (space && has_next && IsOther(next)) return s.RunWhile(pos + 1, IsOther);
  if (IsOther(c)) return s.RunWhile(pos, IsOther);
  return s.WhitespaceRun(pos, isolate_digits);  // c is whitespace
}

size_t NextLlama3(const Scanner& s, size_t pos, bool digits_of_three) {
  if (const size_t end = s.Contraction(pos, /*ignore_case=*/true)) return end;
  const Char c = s.At(pos);
  const bool has_next = pos + c.len < s.len();
  const Char next = has_next ? s.At(pos + c.len) : Char{0, 0, CharClass::kWhitespace};
  // [^\r\n\p{L}\p{N}]?\p{L}+
  if (!IsNewline(c) && !IsLetter(c) && !IsNumber(c) && has_next && IsLetter(next)) {
    return s.RunWhile(pos + c.len, IsLetter);
  }
  if (IsLetter(c)) return s.RunWhile(pos, IsLetter);
  // \p{N}{1,3} (Llama 3) or \p{N} (Qwen2)
  if (IsNumber(c)) {
    size_t end = pos + c.len;
    for (int more = digits_of_three ? 2 : 0; more > 0 && end < s.len(); --more) {
      const Char d = s.At(end);
      if (!IsNumber(d)) break;
      end += d.len;
    }
    return end;
  }
  // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
  if (c.cp == ' ' && has_next && IsOther(next)) {
    return s.RunWhile(s.RunWhile(pos + 1, IsOther), IsNewline);
  }
  if (IsOther(c)) return s.RunWhile(s.RunWhile(pos, IsOther), IsNewline);
  // \s*[\r\n]+ : the whitespace run up to and including its last line break.
  size_t end = pos;
  size_t after_newline = 0;
  while (end < s.len()) {
    const Char w = s.At(end);
    if (!IsSpace(w)) break;
    end += w.len;
    if (IsNewline(w)) after_newline = end;
  }
  if (after_newline != 0) return after_newline;
  return s.WhitespaceRun(pos);  // \s+(?!\S) | \s+
}

}  // namespace

CharClass ClassifyCodepoint(uint32_t cp) {
  if (cp < 0x80) {
    if ((cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z')) return CharClass::kLetter;
    if (cp >= '0' && cp <= '9') return CharClass::kNumber;
    if (cp == ' ' || (cp >= 0x09 && cp <= 0x0D)) return CharClass::kWhitespace;
    return CharClass::kOther;
  }
  if (cp == kInvalidCodepoint) return CharClass::kOther;
  if (InRanges(unicode::kLetterRanges, unicode::kLetterRangeCount, cp)) return CharClass::kLetter;
  if (InRanges(unicode::kNumberRanges, unicode::kNumberRangeCount, cp)) return CharClass::kNumber;
  if (InRanges(unicode::kWhitespaceRanges, unicode::kWhitespaceRangeCount, cp)) {
    return CharClass::kWhitespace;
  }
  return CharClass::kOther;
}

size_t DecodeUtf8(const char* text, size_t len, size_t pos, uint32_t* cp) {
  const uint8_t b0 = static_cast<uint8_t>(text[pos]);
  if (b0 < 0x80) {
    *cp = b0;
    return 1;
  }
  size_t n;
  uint32_t value;
  uint32_t min;
  if ((b0 & 0xE0) == 0xC0) {
    n = 2, value = b0 & 0x1F, min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    n = 3, value = b0 & 0x0F, min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    n = 4, value = b0 & 0x07, min = 0x10000;
  } else {
    *cp = kInvalidCodepoint;
    return 1;
  }
  if (len - pos < n) {
    *cp = kInvalidCodepoint;
    return 1;
  }
  for (size_t i = 1; i < n; ++i) {
    const uint8_t b = static_cast<uint8_t>(text[pos + i]);
    if ((b & 0xC0) != 0x80) {
      *cp = kInvalidCodepoint;
      return 1;
    }
    value = (value << 6) | (b & 0x3F);
  }
  if (value < min || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF)) {
    *cp = kInvalidCodepoint;
    return 1;
  }
  *cp = value;
  return n;
}

size_t NextPreToken(PreTokenizerType kind, const char* text, size_t len, size_t pos) {
  const Scanner s(text, len);
  switch (kind) {
    case PreTokenizerType::GPT2:
      return NextGpt2(s, pos, /*isolate_digits=*/false);
    case PreTokenizerType::SMOLLM:
      return NextGpt2(s, pos, /*isolate_digits=*/true);
    case PreTokenizerType::LLAMA3:
      return NextLlama3(s, pos, /*digits_of_three=*/true);
    case PreTokenizerType::QWEN2:
      return NextLlama3(s, pos, /*digits_of_three=*/false);
    case PreTokenizerType::NONE:
    case PreTokenizerType::SPLIT:  // split_regex.h SplitText, not a single scan
      break;
  }
  return len;
}

}  // namespace kite

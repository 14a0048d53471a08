#include "samples/voice_assistant/sentences.h"

#include <algorithm>
#include <cctype>
#include <cstring>

namespace kite::voice {
namespace {

// Abbreviations after which a '.' does not end a sentence (compared case-insensitively,
// without the final '.').
constexpr const char* kAbbreviations[] = {"mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st",
                                          "vs", "etc", "e.g", "i.e", "mt", "no", "fig"};

bool IsSpace(char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; }
bool IsTerminal(char c) { return c == '.' || c == '!' || c == '?'; }
// Closing quotes and brackets that stay with the sentence they end: ASCII, and the UTF-8
// right quotes ” ’ and ».
constexpr const char* kClosers[] = {"\"", "'", ")", "]", "\xE2\x80\x9D", "\xE2\x80\x99", "\xC2\xBB"};

// The byte length of the closer or terminal at `at` in `s`: 0 when there is none, -1 when
// the text ends inside one (more text decides).
int CloserOrTerminal(const std::string& s, size_t at) {
  if (IsTerminal(s[at])) return 1;
  for (const char* c : kClosers) {
    const size_t n = std::strlen(c);
    if (s.compare(at, n, c) == 0) return static_cast<int>(n);
    if (s.size() - at < n && s.compare(at, std::string::npos, c, s.size() - at) == 0) return -1;
  }
  return 0;
}

// Full-width sentence ends (UTF-8): a sentence ends right after them.
constexpr const char* kWideTerminals[] = {"\xE3\x80\x82", "\xEF\xBC\x81", "\xEF\xBC\x9F"};

// True when the '.' at `dot` follows an abbreviation or a single-letter initial.
bool DotIsAbbreviation(const std::string& s, size_t dot) {
  size_t b = dot;
  while (b > 0 && !IsSpace(s[b - 1]) && s[b - 1] != '(' && s[b - 1] != '"') --b;
  const std::string word = s.substr(b, dot - b);
  if (word.size() == 1 && std::isupper(static_cast<unsigned char>(word[0]))) return true;
  std::string lower;
  for (char c : word) lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  for (const char* a : kAbbreviations) {
    if (lower == a) return true;
  }
  return false;
}

size_t TrimmedBegin(const std::string& s, size_t b, size_t e) {
  while (b < e && IsSpace(s[b])) ++b;
  return b;
}

}  // namespace

SentenceSplitter::SentenceSplitter(size_t max_bytes) : max_bytes_(std::max<size_t>(max_bytes, 16)) {}

bool SentenceSplitter::FindEnd(size_t* end) {
  const std::string& s = pending_;
  for (size_t i = scan_; i < s.size(); ++i) {
    for (const char* w : kWideTerminals) {
      const size_t n = std::strlen(w);
      if (s.compare(i, n, w) == 0) {
        *end = i + n;
        return true;
      }
      // Its first bytes at the very end: wait for the rest before moving past them.
      if (s.size() - i < n && s.compare(i, std::string::npos, w, s.size() - i) == 0) return false;
    }
    if (s[i] == '\n' && i + 1 < s.size() && s[i + 1] == '\n' && TrimmedBegin(s, 0, i) < i) {
      *end = i + 2;
      return true;
    }
    if (!IsTerminal(s[i])) {
      scan_ = i + 1;
      continue;
    }
    size_t j = i;
    int n = 0;
    while (j < s.size() && (n = CloserOrTerminal(s, j)) > 0) j += static_cast<size_t>(n);
    if (j == s.size() || n < 0) return false;  // the next character decides: wait for it
    if (!IsSpace(s[j]) || (s[i] == '.' && j == i + 1 && DotIsAbbreviation(s, i))) {
      i = j - 1;
      scan_ = j;
      continue;
    }
    *end = j;
    return true;
  }
  // A newline at the very end may start a blank line: look at it again next time.
  if (!s.empty() && s.back() == '\n' && scan_ == s.size()) scan_ = s.size() - 1;
  return false;
}

void SentenceSplitter::Emit(size_t end, std::vector<std::string>* out) {
  const size_t b = TrimmedBegin(pending_, 0, end);
  size_t e = end;
  while (e > b && IsSpace(pending_[e - 1])) --e;
  if (e > b) out->push_back(pending_.substr(b, e - b));
  pending_.erase(0, end);
  scan_ = 0;
}

void SentenceSplitter::Push(std::string_view text, std::vector<std::string>* out) {
  pending_.append(text.data(), text.size());
  size_t end = 0;
  while (true) {
    if (FindEnd(&end)) {
      Emit(end, out);
      continue;
    }
    // No end in sight: cut an over-long sentence at its last space within the limit.
    const size_t b = TrimmedBegin(pending_, 0, pending_.size());
    if (pending_.size() - b <= max_bytes_) return;
    const size_t limit = b + max_bytes_;
    size_t cut = pending_.rfind(' ', limit);
    if (cut == std::string::npos || cut <= b) {
      // One unbroken word: cut at the limit, backed up to a UTF-8 character boundary.
      cut = limit;
      while (cut > b && (static_cast<unsigned char>(pending_[cut]) & 0xC0) == 0x80) --cut;
    }
    Emit(cut, out);
  }
}

std::string SentenceSplitter::Flush() {
  std::vector<std::string> rest;
  Emit(pending_.size(), &rest);
  return rest.empty() ? std::string() : rest[0];
}

}  // namespace kite::voice

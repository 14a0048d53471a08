// A tiny JSON value reader for test fixtures (goldens, token lists): finds a key and reads
// the number array or string after it. Not a general parser: it does not track nesting, so
// `JsonFindKey` returns the next occurrence of the key anywhere in the document. Good for
// fixtures written by json.dump; test code only (allocates, no error positions).
#pragma once

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace kite::test {

/// Reads the whole file at `path` into *contents. False when it cannot be opened.
inline bool ReadWholeFile(const std::string& path, std::string* contents) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return false;
  std::ostringstream buffer;
  buffer << file.rdbuf();
  *contents = buffer.str();
  return true;
}

/// Position just after the ':' that follows the next `"key"` at or after `from`, or
/// std::string::npos. Occurrences preceded by a backslash (inside a string) are skipped.
inline size_t JsonFindKey(const std::string& json, const std::string& key, size_t from = 0) {
  const std::string quoted = "\"" + key + "\"";
  for (size_t at = json.find(quoted, from); at != std::string::npos;
       at = json.find(quoted, at + 1)) {
    if (at > 0 && json[at - 1] == '\\') continue;
    size_t p = at + quoted.size();
    while (p < json.size() && (json[p] == ' ' || json[p] == '\n' || json[p] == '\r' ||
                               json[p] == '\t')) {
      ++p;
    }
    if (p < json.size() && json[p] == ':') return p + 1;
  }
  return std::string::npos;
}

namespace json_lite_internal {

inline void SkipSpace(const std::string& json, size_t* pos) {
  while (*pos < json.size() && (json[*pos] == ' ' || json[*pos] == '\n' ||
                                json[*pos] == '\r' || json[*pos] == '\t')) {
    ++*pos;
  }
}

inline void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

inline bool ReadHex4(const std::string& json, size_t pos, uint32_t* value) {
  if (pos + 4 > json.size()) return false;
  *value = 0;
  for (size_t i = pos; i < pos + 4; ++i) {
    const char c = json[i];
    uint32_t digit;
    if (c >= '0' && c <= '9') {
      digit = static_cast<uint32_t>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      digit = static_cast<uint32_t>(c - 'a' + 10);
    } else if (c >= 'A' && c <= 'F') {
      digit = static_cast<uint32_t>(c - 'A' + 10);
    } else {
      return false;
    }
    *value = *value * 16 + digit;
  }
  return true;
}

// Reads "[n, n, ...]" at *pos with `parse` (strtoll/strtod-like); advances *pos past ']'.
template <typename T, typename Parse>
bool ReadArray(const std::string& json, size_t* pos, std::vector<T>* out, Parse parse) {
  out->clear();
  SkipSpace(json, pos);
  if (*pos >= json.size() || json[*pos] != '[') return false;
  ++*pos;
  SkipSpace(json, pos);
  if (*pos < json.size() && json[*pos] == ']') {
    ++*pos;
    return true;
  }
  while (*pos < json.size()) {
    SkipSpace(json, pos);
    const char* begin = json.c_str() + *pos;
    char* end = nullptr;
    const T value = parse(begin, &end);
    if (end == begin) return false;
    out->push_back(value);
    *pos += static_cast<size_t>(end - begin);
    SkipSpace(json, pos);
    if (*pos >= json.size()) return false;
    if (json[*pos] == ']') {
      ++*pos;
      return true;
    }
    if (json[*pos] != ',') return false;
    ++*pos;
  }
  return false;
}

}  // namespace json_lite_internal

/// Parses a JSON array of integers at `pos` (leading whitespace allowed) into *out.
/// On success returns true and, when `end` is not null, sets *end just past the ']'.
inline bool JsonReadIntArray(const std::string& json, size_t pos, std::vector<int64_t>* out,
                             size_t* end = nullptr) {
  const bool ok = json_lite_internal::ReadArray<int64_t>(
      json, &pos, out, [](const char* s, char** e) { return std::strtoll(s, e, 10); });
  if (ok && end != nullptr) *end = pos;
  return ok;
}

/// Parses a JSON array of numbers at `pos` into *out (as double; float text such as
/// "%.9g" round-trips exactly). Same conventions as JsonReadIntArray.
inline bool JsonReadNumberArray(const std::string& json, size_t pos, std::vector<double>* out,
                                size_t* end = nullptr) {
  const bool ok = json_lite_internal::ReadArray<double>(
      json, &pos, out, [](const char* s, char** e) { return std::strtod(s, e); });
  if (ok && end != nullptr) *end = pos;
  return ok;
}

/// Parses a JSON string at `pos` (leading whitespace allowed) into *out as UTF-8, decoding
/// every escape (\n, \", \\, \/, \b, \f, \r, \t, \uXXXX with surrogate pairs).
inline bool JsonReadString(const std::string& json, size_t pos, std::string* out,
                           size_t* end = nullptr) {
  out->clear();
  json_lite_internal::SkipSpace(json, &pos);
  if (pos >= json.size() || json[pos] != '"') return false;
  ++pos;
  while (pos < json.size()) {
    const char c = json[pos++];
    if (c == '"') {
      if (end != nullptr) *end = pos;
      return true;
    }
    if (c != '\\') {
      out->push_back(c);
      continue;
    }
    if (pos >= json.size()) return false;
    const char escape = json[pos++];
    switch (escape) {
      case '"': out->push_back('"'); break;
      case '\\': out->push_back('\\'); break;
      case '/': out->push_back('/'); break;
      case 'b': out->push_back('\b'); break;
      case 'f': out->push_back('\f'); break;
      case 'n': out->push_back('\n'); break;
      case 'r': out->push_back('\r'); break;
      case 't': out->push_back('\t'); break;
      case 'u': {
        uint32_t cp;
        if (!json_lite_internal::ReadHex4(json, pos, &cp)) return false;
        pos += 4;
        if (cp >= 0xD800 && cp < 0xDC00) {  // high surrogate: a low one must follow
          uint32_t low;
          if (pos + 6 > json.size() || json[pos] != '\\' || json[pos + 1] != 'u' ||
              !json_lite_internal::ReadHex4(json, pos + 2, &low) || low < 0xDC00 ||
              low >= 0xE000) {
            return false;
          }
          pos += 6;
          cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
        }
        json_lite_internal::AppendUtf8(cp, out);
        break;
      }
      default: return false;
    }
  }
  return false;
}

/// The integer array under the first `key` in `json`. False when absent or malformed.
inline bool JsonIntArray(const std::string& json, const std::string& key,
                         std::vector<int64_t>* out) {
  const size_t pos = JsonFindKey(json, key);
  return pos != std::string::npos && JsonReadIntArray(json, pos, out);
}

/// The number array under the first `key` in `json`. False when absent or malformed.
inline bool JsonNumberArray(const std::string& json, const std::string& key,
                            std::vector<double>* out) {
  const size_t pos = JsonFindKey(json, key);
  return pos != std::string::npos && JsonReadNumberArray(json, pos, out);
}

/// The string under the first `key` in `json`. False when absent or malformed.
inline bool JsonString(const std::string& json, const std::string& key, std::string* out) {
  const size_t pos = JsonFindKey(json, key);
  return pos != std::string::npos && JsonReadString(json, pos, out);
}

}  // namespace kite::test

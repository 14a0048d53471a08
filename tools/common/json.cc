#include "tools/common/json.h"

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <system_error>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tools/common/input_file.h"

namespace kite::json {

const char* TypeName(Type type) {
  switch (type) {
    case Type::kNull: return "null";
    case Type::kBool: return "boolean";
    case Type::kNumber: return "number";
    case Type::kString: return "string";
    case Type::kArray: return "array";
    case Type::kObject: return "object";
  }
  return "unknown";
}

Value Value::Bool(bool b) {
  Value v;
  v.type_ = Type::kBool;
  v.bool_ = b;
  return v;
}

Value Value::Number(double d) {
  Value v;
  v.type_ = Type::kNumber;
  v.number_ = d;
  return v;
}

Value Value::String(std::string s) {
  Value v;
  v.type_ = Type::kString;
  v.string_ = std::move(s);
  return v;
}

Value Value::Array(std::vector<Value> items) {
  Value v;
  v.type_ = Type::kArray;
  v.array_ = std::move(items);
  return v;
}

Value Value::Object(Members members) {
  Value v;
  v.type_ = Type::kObject;
  v.object_ = std::move(members);
  return v;
}

// The accessors return the (empty) members of a non-matching kind: the factories only fill
// the member of their own kind.
const std::string& Value::str() const { return string_; }
const std::vector<Value>& Value::array() const { return array_; }
const Value::Members& Value::object() const { return object_; }

const Value* Value::Find(std::string_view key) const {
  for (const auto& member : object_) {
    if (member.first == key) return &member.second;
  }
  return nullptr;
}

bool Value::GetInt64(int64_t* out) const {
  if (type_ != Type::kNumber) return false;
  constexpr double kExact = 9007199254740992.0;  // 2^53
  if (!(number_ >= -kExact && number_ <= kExact)) return false;
  if (std::floor(number_) != number_) return false;
  *out = static_cast<int64_t>(number_);
  return true;
}

namespace {

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  absl::StatusOr<Value> Document() {
    SkipSpace();
    Value root;
    if (!ParseValue(&root, 0)) return error_;
    SkipSpace();
    if (pos_ != text_.size()) {
      Fail("end of document after the top-level value");
      return error_;
    }
    return root;
  }

 private:
  // Records an error at the current position; returns false for `return Fail(...)`.
  bool Fail(std::string_view expected) { return FailAt(pos_, expected); }

  bool FailAt(size_t at, std::string_view expected) {
    size_t line = 1, column = 1;
    for (size_t i = 0; i < at && i < text_.size(); ++i) {
      if (text_[i] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
    std::string found;
    if (at >= text_.size()) {
      found = "end of input";
    } else {
      const unsigned char c = static_cast<unsigned char>(text_[at]);
      found = (c >= 0x20 && c < 0x7f) ? absl::StrFormat("'%c'", c)
                                      : absl::StrFormat("byte 0x%02X", c);
    }
    error_ = absl::InvalidArgumentError(absl::StrFormat(
        "JSON line %d, column %d: expected %s, found %s", line, column,
        std::string(expected), found));
    return false;
  }

  void SkipSpace() {
    while (pos_ < text_.size()) {
      const char c = text_[pos_];
      if (c != ' ' && c != '\n' && c != '\r' && c != '\t') break;
      ++pos_;
    }
  }

  bool Literal(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) {
      return Fail(absl::StrCat("'", std::string(word), "'"));
    }
    pos_ += word.size();
    return true;
  }

  bool ParseValue(Value* out, int depth) {
    if (pos_ >= text_.size()) return Fail("a value");
    switch (text_[pos_]) {
      case '{': return ParseObject(out, depth + 1);
      case '[': return ParseArray(out, depth + 1);
      case '"': {
        std::string s;
        if (!ParseString(&s)) return false;
        *out = Value::String(std::move(s));
        return true;
      }
      case 't':
        if (!Literal("true")) return false;
        *out = Value::Bool(true);
        return true;
      case 'f':
        if (!Literal("false")) return false;
        *out = Value::Bool(false);
        return true;
      case 'n':
        if (!Literal("null")) return false;
        *out = Value::Null();
        return true;
      default:
        return ParseNumber(out);
    }
  }

  bool ParseObject(Value* out, int depth) {
    if (depth > kMaxDepth) return Fail(absl::StrCat("nesting at most ", kMaxDepth, " deep"));
    ++pos_;  // '{'
    // Members collect on a stack shared by all objects, then move once into an exactly
    // sized vector (no regrowth of each object's own vector).
    const size_t mark = member_stack_.size();
    SkipSpace();
    if (pos_ < text_.size() && text_[pos_] == '}') {
      ++pos_;
      *out = Value::Object({});
      return true;
    }
    while (true) {
      SkipSpace();
      if (pos_ >= text_.size() || text_[pos_] != '"') return Fail("a string key");
      std::string key;
      if (!ParseString(&key)) return false;
      SkipSpace();
      if (pos_ >= text_.size() || text_[pos_] != ':') return Fail("':' after an object key");
      ++pos_;
      SkipSpace();
      Value value;
      if (!ParseValue(&value, depth)) return false;
      member_stack_.emplace_back(std::move(key), std::move(value));
      SkipSpace();
      if (pos_ < text_.size() && text_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < text_.size() && text_[pos_] == '}') {
        ++pos_;
        break;
      }
      return Fail("',' or '}' in an object");
    }
    Value::Members members(std::make_move_iterator(member_stack_.begin() + mark),
                           std::make_move_iterator(member_stack_.end()));
    member_stack_.resize(mark);
    *out = Value::Object(std::move(members));
    return true;
  }

  bool ParseArray(Value* out, int depth) {
    if (depth > kMaxDepth) return Fail(absl::StrCat("nesting at most ", kMaxDepth, " deep"));
    ++pos_;  // '['
    const size_t mark = item_stack_.size();
    SkipSpace();
    if (pos_ < text_.size() && text_[pos_] == ']') {
      ++pos_;
      *out = Value::Array({});
      return true;
    }
    while (true) {
      SkipSpace();
      Value item;
      if (!ParseValue(&item, depth)) return false;
      item_stack_.push_back(std::move(item));
      SkipSpace();
      if (pos_ < text_.size() && text_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < text_.size() && text_[pos_] == ']') {
        ++pos_;
        break;
      }
      return Fail("',' or ']' in an array");
    }
    std::vector<Value> items(std::make_move_iterator(item_stack_.begin() + mark),
                             std::make_move_iterator(item_stack_.end()));
    item_stack_.resize(mark);
    *out = Value::Array(std::move(items));
    return true;
  }

  static int HexDigit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }

  // Reads the 4 hex digits after "\u" at pos_ (pos_ on the 'u').
  bool ReadHex4(uint32_t* out) {
    uint32_t v = 0;
    for (int i = 1; i <= 4; ++i) {
      if (pos_ + i >= text_.size() || HexDigit(text_[pos_ + i]) < 0) {
        return FailAt(pos_ + i, "4 hex digits after \\u");
      }
      v = v << 4 | static_cast<uint32_t>(HexDigit(text_[pos_ + i]));
    }
    pos_ += 5;
    *out = v;
    return true;
  }

  static void AppendUtf8(uint32_t cp, std::string* s) {
    if (cp < 0x80) {
      s->push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      s->push_back(static_cast<char>(0xC0 | cp >> 6));
      s->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      s->push_back(static_cast<char>(0xE0 | cp >> 12));
      s->push_back(static_cast<char>(0x80 | (cp >> 6 & 0x3F)));
      s->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      s->push_back(static_cast<char>(0xF0 | cp >> 18));
      s->push_back(static_cast<char>(0x80 | (cp >> 12 & 0x3F)));
      s->push_back(static_cast<char>(0x80 | (cp >> 6 & 0x3F)));
      s->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }

  // Length of the valid UTF-8 sequence starting at `at` (a non-ASCII lead byte), or 0.
  size_t Utf8SequenceLength(size_t at) const {
    const auto byte = [&](size_t i) { return static_cast<unsigned char>(text_[i]); };
    const unsigned char c = byte(at);
    size_t n;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
      n = 2;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 3;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 4;
      cp = c & 0x07;
    } else {
      return 0;
    }
    if (at + n > text_.size()) return 0;
    for (size_t i = 1; i < n; ++i) {
      if ((byte(at + i) & 0xC0) != 0x80) return 0;
      cp = cp << 6 | (byte(at + i) & 0x3F);
    }
    // Overlong forms, UTF-16 surrogates and values past U+10FFFF are invalid.
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return 0;
    }
    return n;
  }

  bool ParseString(std::string* out) {
    ++pos_;  // opening quote
    while (true) {
      // Copy the run of plain bytes in one go (the common case in tokenizer vocabularies).
      const size_t start = pos_;
      while (pos_ < text_.size()) {
        const unsigned char c = static_cast<unsigned char>(text_[pos_]);
        if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80) break;
        ++pos_;
      }
      out->append(text_.data() + start, pos_ - start);
      if (pos_ >= text_.size()) return Fail("'\"' to close the string");
      const unsigned char c = static_cast<unsigned char>(text_[pos_]);
      if (c == '"') {
        ++pos_;
        return true;
      }
      if (c < 0x20) return Fail("a string character (control characters must be escaped)");
      if (c >= 0x80) {
        const size_t n = Utf8SequenceLength(pos_);
        if (n == 0) return Fail("valid UTF-8 in a string");
        out->append(text_.data() + pos_, n);
        pos_ += n;
        continue;
      }
      // Backslash escape.
      ++pos_;
      if (pos_ >= text_.size()) return Fail("an escape character after '\\'");
      switch (text_[pos_]) {
        case '"': out->push_back('"'); ++pos_; break;
        case '\\': out->push_back('\\'); ++pos_; break;
        case '/': out->push_back('/'); ++pos_; break;
        case 'b': out->push_back('\b'); ++pos_; break;
        case 'f': out->push_back('\f'); ++pos_; break;
        case 'n': out->push_back('\n'); ++pos_; break;
        case 'r': out->push_back('\r'); ++pos_; break;
        case 't': out->push_back('\t'); ++pos_; break;
        case 'u': {
          const size_t escape_at = pos_ - 1;
          uint32_t cp = 0;
          if (!ReadHex4(&cp)) return false;
          if (cp >= 0xDC00 && cp <= 0xDFFF) {
            return FailAt(escape_at, "a high surrogate before a low surrogate \\u escape");
          }
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (pos_ + 1 >= text_.size() || text_[pos_] != '\\' || text_[pos_ + 1] != 'u') {
              return FailAt(escape_at, "a low surrogate \\u escape after a high surrogate");
            }
            ++pos_;
            uint32_t low = 0;
            if (!ReadHex4(&low)) return false;
            if (low < 0xDC00 || low > 0xDFFF) {
              return FailAt(escape_at, "a low surrogate \\u escape after a high surrogate");
            }
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          }
          AppendUtf8(cp, out);
          break;
        }
        default:
          return Fail("one of \" \\ / b f n r t u after '\\'");
      }
    }
  }

  bool ParseNumber(Value* out) {
    const size_t start = pos_;
    const auto digit = [&](size_t i) { return i < text_.size() && text_[i] >= '0' && text_[i] <= '9'; };
    size_t p = pos_;
    if (p < text_.size() && text_[p] == '-') ++p;
    if (!digit(p)) return FailAt(p, p == start ? "a value" : "a digit after '-'");
    if (text_[p] == '0') {
      ++p;
      if (digit(p)) return FailAt(p, "no leading zeros in a number");
    } else {
      while (digit(p)) ++p;
    }
    if (p < text_.size() && text_[p] == '.') {
      ++p;
      if (!digit(p)) return FailAt(p, "a digit after the decimal point");
      while (digit(p)) ++p;
    }
    if (p < text_.size() && (text_[p] == 'e' || text_[p] == 'E')) {
      ++p;
      if (p < text_.size() && (text_[p] == '+' || text_[p] == '-')) ++p;
      if (!digit(p)) return FailAt(p, "a digit in the exponent");
      while (digit(p)) ++p;
    }
    double d = 0.0;
    const auto result = std::from_chars(text_.data() + start, text_.data() + p, d);
    if (result.ec == std::errc::result_out_of_range) {
      // Underflow to (signed) zero is harmless; overflow to infinity is not representable.
      if (std::isinf(d) || d == 0.0) {
        const char* first = text_.data() + start;
        char* end = nullptr;
        const std::string copy(first, p - start);
        d = std::strtod(copy.c_str(), &end);
        if (std::isinf(d)) return FailAt(start, "a number within double range");
      }
    } else if (result.ec != std::errc() || result.ptr != text_.data() + p) {
      return FailAt(start, "a number");
    }
    pos_ = p;
    *out = Value::Number(d);
    return true;
  }

  std::string_view text_;
  size_t pos_ = 0;
  // Children of the arrays/objects being parsed, innermost last.
  std::vector<Value> item_stack_;
  Value::Members member_stack_;
  absl::Status error_;
};

}  // namespace

absl::StatusOr<Value> Parse(std::string_view text) { return Parser(text).Document(); }

absl::StatusOr<Value> ParseFile(const std::string& path) {
  absl::StatusOr<std::string> bytes = tools::ReadInputFile(path);
  if (!bytes.ok()) return bytes.status();
  absl::StatusOr<Value> value = Parse(*bytes);
  if (!value.ok()) {
    return absl::Status(value.status().code(),
                        absl::StrCat(path, ": ", value.status().message()));
  }
  return value;
}

}  // namespace kite::json

#include "tools/common/json.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <iterator>
#include <limits>
#include <unordered_set>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "nlohmann/json.hpp"
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

Value Value::Int(int64_t i) {
  Value v;
  v.type_ = Type::kNumber;
  v.integer_ = true;
  v.int_ = i;
  v.number_ = static_cast<double>(i);
  return v;
}

Value Value::Uint(uint64_t u) {
  if (u <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return Int(static_cast<int64_t>(u));
  }
  Value v;
  v.type_ = Type::kNumber;
  v.unsigned_ = true;
  v.uint_ = u;
  v.number_ = static_cast<double>(u);
  return v;
}

Value Value::Decimals(double d, int decimals) {
  if (!std::isfinite(d)) return Number(d);
  char text[400];  // DBL_MAX has 309 digits before the point
  std::snprintf(text, sizeof(text), "%.*f", decimals, d);
  return Number(std::strtod(text, nullptr));
}

Value Value::Rounded(double d, int significant) {
  if (!std::isfinite(d)) return Number(d);
  // The shortest text that reads back as the rounded double is the "%.*g" text itself
  // (without trailing zeros), which is what Write prints.
  char text[64];
  std::snprintf(text, sizeof(text), "%.*g", significant, d);
  return Number(std::strtod(text, nullptr));
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

Value& Value::Add(std::string key, Value value) {
  if (type_ == Type::kNull) type_ = Type::kObject;
  object_.emplace_back(std::move(key), std::move(value));
  return *this;
}

Value& Value::Push(Value value) {
  if (type_ == Type::kNull) type_ = Type::kArray;
  array_.push_back(std::move(value));
  return *this;
}

const Value* Value::Find(std::string_view key) const {
  for (const auto& member : object_) {
    if (member.first == key) return &member.second;
  }
  return nullptr;
}

bool Value::GetUint64(uint64_t* out) const {
  if (type_ != Type::kNumber) return false;
  if (unsigned_) {
    *out = uint_;
    return true;
  }
  if (integer_ && int_ >= 0) {
    *out = static_cast<uint64_t>(int_);
    return true;
  }
  return false;
}

bool Value::GetInt64(int64_t* out) const {
  if (type_ != Type::kNumber) return false;
  if (integer_) {
    *out = int_;
    return true;
  }
  if (unsigned_) return false;  // above INT64_MAX
  constexpr double kExact = 9007199254740992.0;  // 2^53
  if (!(number_ >= -kExact && number_ <= kExact)) return false;
  if (std::floor(number_) != number_) return false;
  *out = static_cast<int64_t>(number_);
  return true;
}

namespace {

// Builds a Value tree from nlohmann's SAX events, enforcing what nlohmann leaves open:
// unique keys and the depth limit. Each handler returns false to stop the parse.
class Builder {
 public:
  // `end_of_read` points at the reader's position (just past the last byte it consumed).
  Builder(const char* begin, const char* const* end_of_read)
      : begin_(begin), end_of_read_(end_of_read) {}

  bool null() { return Put(Value()); }
  bool boolean(bool b) { return Put(Value::Bool(b)); }
  bool number_integer(int64_t i) { return Put(Value::Int(i)); }
  bool number_unsigned(uint64_t u) { return Put(Value::Uint(u)); }
  bool number_float(double d, const std::string& /*text*/) { return Put(Value::Number(d)); }
  bool string(std::string& s) { return Put(Value::String(std::move(s))); }
  bool binary(nlohmann::json::binary_t& /*bytes*/) { return Fail("binary values are not JSON"); }

  bool start_object(size_t /*size*/) { return Open(Type::kObject); }
  bool key(std::string& k) {
    Frame& top = open_.back();
    if (!top.keys.insert(k).second) {
      // Escaped: the key comes from an untrusted file and goes to a terminal.
      return Fail(absl::StrCat("duplicate key \"", absl::CHexEscape(k), "\" in an object"));
    }
    top.key = std::move(k);
    return true;
  }
  bool end_object() { return Close(); }
  bool start_array(size_t /*size*/) { return Open(Type::kArray); }
  bool end_array() { return Close(); }

  bool parse_error(size_t position, const std::string& /*last_token*/,
                   const nlohmann::detail::exception& ex) {
    // nlohmann's text is "[json.exception.KIND.ID] parse error at line L, column C: WHAT";
    // keep WHAT (ErrorAt reports the position). nlohmann shows control characters of the
    // input as <U+XXXX>, so none reaches a terminal raw.
    std::string_view what = ex.what();
    if (const size_t bracket = what.find("] "); bracket != std::string_view::npos) {
      what.remove_prefix(bracket + 2);
    }
    if (what.rfind("parse error", 0) == 0) {
      if (const size_t colon = what.find(": "); colon != std::string_view::npos) {
        what.remove_prefix(colon + 2);
      }
    }
    error_byte_ = position > 0 ? position - 1 : 0;
    error_ = std::string(what);
    return false;
  }

  Value& root() { return root_; }
  const std::string& error() const { return error_; }
  size_t error_byte() const { return error_byte_; }

 private:
  struct Frame {
    Value value;
    std::string key;                      // the member being read (objects)
    std::unordered_set<std::string> keys;  // every key so far (objects)
  };

  bool Fail(std::string message) {
    const size_t read = static_cast<size_t>(*end_of_read_ - begin_);
    error_byte_ = read > 0 ? read - 1 : 0;  // the last byte read: where the problem shows
    error_ = std::move(message);
    return false;
  }

  bool Open(Type type) {
    if (open_.size() >= static_cast<size_t>(kMaxDepth)) {
      return Fail(absl::StrCat("arrays and objects nest more than ", kMaxDepth, " deep"));
    }
    open_.emplace_back();
    open_.back().value = type == Type::kObject ? Value::Object({}) : Value::Array({});
    return true;
  }

  bool Close() {
    Value done = std::move(open_.back().value);
    open_.pop_back();
    return Put(std::move(done));
  }

  bool Put(Value v) {
    if (open_.empty()) {
      root_ = std::move(v);
    } else if (Frame& top = open_.back(); top.value.is_array()) {
      top.value.Push(std::move(v));
    } else {
      top.value.Add(std::move(top.key), std::move(v));
    }
    return true;
  }

  const char* begin_;
  const char* const* end_of_read_;
  std::vector<Frame> open_;
  Value root_;
  std::string error_;
  size_t error_byte_ = 0;
};

// A byte iterator that records how far the parser has read (for Builder's own errors).
class TrackingIterator {
 public:
  using iterator_category = std::input_iterator_tag;
  using value_type = char;
  using difference_type = std::ptrdiff_t;
  using pointer = const char*;
  using reference = const char&;

  TrackingIterator(const char* at, const char** end_of_read) : at_(at), end_of_read_(end_of_read) {}
  reference operator*() const { return *at_; }
  TrackingIterator& operator++() {
    *end_of_read_ = ++at_;
    return *this;
  }
  TrackingIterator operator++(int) {
    TrackingIterator before = *this;
    ++*this;
    return before;
  }
  bool operator==(const TrackingIterator& other) const { return at_ == other.at_; }
  bool operator!=(const TrackingIterator& other) const { return at_ != other.at_; }

 private:
  const char* at_;
  const char** end_of_read_;
};

absl::Status ErrorAt(std::string_view text, std::string_view source, size_t byte,
                     std::string_view what) {
  size_t line = 1, column = 1;
  for (size_t i = 0; i < byte && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return absl::InvalidArgumentError(absl::StrFormat(
      "%s%sJSON byte %d (line %d, column %d): %s", std::string(source),
      source.empty() ? "" : ": ", byte, line, column, std::string(what)));
}

nlohmann::ordered_json ToNlohmann(const Value& v) {
  switch (v.type()) {
    case Type::kNull: return nullptr;
    case Type::kBool: return v.boolean();
    case Type::kNumber: {
      int64_t i;
      uint64_t u;
      if (v.is_integer() && v.GetInt64(&i)) return i;
      if (v.is_integer() && v.GetUint64(&u)) return u;
      return v.number();
    }
    case Type::kString: return v.str();
    case Type::kArray: {
      nlohmann::ordered_json out = nlohmann::ordered_json::array();
      for (const Value& item : v.array()) out.push_back(ToNlohmann(item));
      return out;
    }
    case Type::kObject: {
      nlohmann::ordered_json out = nlohmann::ordered_json::object();
      for (const auto& [key, item] : v.object()) out.emplace(key, ToNlohmann(item));
      return out;
    }
  }
  return nullptr;
}

}  // namespace

absl::StatusOr<Value> Parse(std::string_view text, std::string_view source) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") {
    return ErrorAt(text, source, 0, "a byte order mark is not allowed");
  }
  // nlohmann takes a NUL byte for the end of the input, which would hide what follows it;
  // no JSON text holds one (inside strings it must be escaped).
  if (const size_t nul = text.find('\0'); nul != std::string_view::npos) {
    return ErrorAt(text, source, nul, "a NUL byte is not allowed");
  }
  const char* const begin = text.data();
  const char* end_of_read = begin;
  Builder builder(begin, &end_of_read);
  try {
    const bool ok = nlohmann::json::sax_parse(
        TrackingIterator(begin, &end_of_read), TrackingIterator(begin + text.size(), &end_of_read),
        &builder, nlohmann::json::input_format_t::json, /*strict=*/true,
        /*ignore_comments=*/false);
    if (!ok) return ErrorAt(text, source, builder.error_byte(), builder.error());
  } catch (const std::exception& e) {  // nothing but allocation failures is expected here
    return absl::ResourceExhaustedError(
        absl::StrCat(std::string(source), source.empty() ? "" : ": ", "JSON: ", e.what()));
  }
  return std::move(builder.root());
}

std::string Write(const Value& value, int indent) {
  return ToNlohmann(value).dump(indent, ' ', /*ensure_ascii=*/false,
                                nlohmann::ordered_json::error_handler_t::replace);
}

absl::StatusOr<Value> ParseFile(const std::string& path) {
  absl::StatusOr<std::string> bytes = tools::ReadInputFile(path);
  if (!bytes.ok()) return bytes.status();
  return Parse(*bytes, path);
}

}  // namespace kite::json

// A small, strict JSON reader (RFC 8259) for the host tools: Hugging Face config.json,
// safetensors headers, tokenizer.json. Not for the runtime (it allocates and uses Abseil).
//
// Parse() builds an immutable tree of Values. Objects keep their members in file order and
// keep duplicate keys (Find returns the first). Strings are stored as UTF-8 with escapes
// decoded. Numbers are stored as double (integers up to 2^53 are exact).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace kite::json {

/// The six JSON value kinds.
enum class Type { kNull, kBool, kNumber, kString, kArray, kObject };

/// Name of a type for messages: "null", "boolean", "number", "string", "array", "object".
const char* TypeName(Type type);

/// One JSON value (and, for arrays and objects, everything under it). A Value owns its
/// children. Values are copyable and movable; a const Value is safe to read from several
/// threads at once.
class Value {
 public:
  /// Member list of an object: (key, value) in file order.
  using Members = std::vector<std::pair<std::string, Value>>;

  /// A null value.
  Value() = default;

  /// Factories for each kind.
  static Value Null() { return Value(); }
  static Value Bool(bool b);
  static Value Number(double d);
  static Value String(std::string s);
  static Value Array(std::vector<Value> items);
  static Value Object(Members members);

  /// The kind of this value.
  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::kNull; }
  bool is_bool() const { return type_ == Type::kBool; }
  bool is_number() const { return type_ == Type::kNumber; }
  bool is_string() const { return type_ == Type::kString; }
  bool is_array() const { return type_ == Type::kArray; }
  bool is_object() const { return type_ == Type::kObject; }

  /// The boolean; false unless kBool.
  bool boolean() const { return type_ == Type::kBool && bool_; }
  /// The number; 0 unless kNumber.
  double number() const { return type_ == Type::kNumber ? number_ : 0.0; }
  /// The string (UTF-8, escapes decoded, \uXXXX including surrogate pairs); "" unless
  /// kString. The reference lives as long as this Value.
  const std::string& str() const;
  /// The elements; empty unless kArray.
  const std::vector<Value>& array() const;
  /// The members in file order; empty unless kObject.
  const Members& object() const;

  /// The value of the first member named `key`, or nullptr (also when this is not an
  /// object). Linear in the number of members.
  const Value* Find(std::string_view key) const;

  /// True when this is a number with an integral value in [INT64_MIN, INT64_MAX] that a
  /// double holds exactly (|v| <= 2^53); *out receives it. False otherwise (*out untouched).
  bool GetInt64(int64_t* out) const;

 private:
  Type type_ = Type::kNull;
  bool bool_ = false;
  double number_ = 0.0;
  std::string string_;
  std::vector<Value> array_;
  Members object_;
};

/// Deepest nesting of arrays/objects that Parse accepts.
inline constexpr int kMaxDepth = 512;

/// Parses a whole JSON document (RFC 8259): one value with optional surrounding
/// whitespace; trailing garbage, nesting deeper than kMaxDepth, invalid UTF-8 in strings,
/// lone surrogate escapes, raw control characters in strings, leading zeros, "NaN" and the
/// like are rejected. Numbers out of double range are rejected. Errors are InvalidArgument
/// and say "line L, column C" (1-based; columns count bytes) and what was expected.
/// Pure function, thread-safe.
absl::StatusOr<Value> Parse(std::string_view text);

/// Reads the file at `path` and parses it. NotFound when it cannot be opened (naming the
/// path), DataLoss when it cannot be read, and Parse's errors prefixed with the path.
absl::StatusOr<Value> ParseFile(const std::string& path);

}  // namespace kite::json

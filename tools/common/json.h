// The host tools' one JSON reader and one JSON writer (tools, samples' host parts, tests),
// built on nlohmann-json: Hugging Face config.json, safetensors headers, tokenizer.json,
// kite-eval's token files, test goldens, and every `--json` output. Not for the runtime
// (it allocates, uses Abseil, and nlohmann throws internally; no exception leaves here).
//
// Parse() builds a tree of Values. Objects keep their members in file order; a duplicate
// key is an error. Strings are stored as UTF-8 with escapes decoded. Numbers are stored as
// double; integers (read without fraction or exponent, or made by Int/Uint) also keep their
// exact 64-bit value. Write() prints a tree as JSON text; to build one, start from a null
// Value and Add members (or Push elements).
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
  /// An integer: written without a fraction; number() returns it as double.
  static Value Int(int64_t i);
  /// An unsigned integer (a seed, a byte count): written exactly, without a fraction.
  static Value Uint(uint64_t u);
  /// `d` rounded to `significant` significant decimal digits (as printf's "%.*g" would show
  /// it), so that Write prints at most those digits. NaN and infinities are kept (written
  /// as null).
  static Value Rounded(double d, int significant);
  /// `d` rounded to `decimals` (0..60) digits after the point (as printf's "%.*f" would show
  /// it); Write prints no trailing zeros. NaN and infinities are kept (written as null).
  static Value Decimals(double d, int decimals);
  static Value String(std::string s);
  static Value Array(std::vector<Value> items);
  static Value Object(Members members);

  /// The kind of this value.
  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::kNull; }
  bool is_bool() const { return type_ == Type::kBool; }
  bool is_number() const { return type_ == Type::kNumber; }
  /// True for numbers made by Int or Uint or read as integers (no fraction or exponent, in
  /// int64 or uint64 range); Write prints them without a fraction.
  bool is_integer() const { return type_ == Type::kNumber && (integer_ || unsigned_); }
  /// True when this is_integer() and holds a uint64 (made by Uint, or read as an integer
  /// above INT64_MAX); *out receives it. False otherwise (*out untouched).
  bool GetUint64(uint64_t* out) const;
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

  /// Appends the member (`key`, `value`) to an object (a null Value becomes an empty
  /// object first). Does not check for an existing `key`. Returns *this.
  Value& Add(std::string key, Value value);
  /// Appends `value` to an array (a null Value becomes an empty array first). Returns *this.
  Value& Push(Value value);

  /// The value of the first member named `key`, or nullptr (also when this is not an
  /// object). Linear in the number of members.
  const Value* Find(std::string_view key) const;

  /// True when this is an integer in int64 range (made by Int or Uint, or read as an
  /// integer: exact) or a number with an integral value that a double holds exactly
  /// (|v| <= 2^53); *out receives it. False otherwise (*out untouched).
  bool GetInt64(int64_t* out) const;

 private:
  Type type_ = Type::kNull;
  bool bool_ = false;
  bool integer_ = false;   // made by Int (or read as an integer in int64 range)
  bool unsigned_ = false;  // made by Uint (or read as an integer above INT64_MAX)
  double number_ = 0.0;
  int64_t int_ = 0;    // the value when integer_
  uint64_t uint_ = 0;  // the value when unsigned_
  std::string string_;
  std::vector<Value> array_;
  Members object_;
};

/// Deepest nesting of arrays/objects that Parse accepts.
inline constexpr int kMaxDepth = 512;

/// Parses a whole JSON document (RFC 8259): one value with optional surrounding
/// whitespace. Rejected: trailing garbage, a duplicate key in an object, nesting deeper than
/// kMaxDepth, invalid UTF-8, lone surrogate escapes, raw control characters in strings,
/// leading zeros, "NaN" and the like, numbers out of double range, a byte order mark.
/// Errors are InvalidArgument: "`source`: JSON byte B (line L, column C): what was wrong"
/// (B 0-based; L and C 1-based, columns count bytes); `source` is the file name (omitted,
/// with its ": ", when empty). Pure function, thread-safe.
absl::StatusOr<Value> Parse(std::string_view text, std::string_view source = {});

/// Reads the file at `path` and parses it (Parse with `path` as the source). NotFound when
/// it cannot be opened (naming the path), DataLoss when it cannot be read.
absl::StatusOr<Value> ParseFile(const std::string& path);

/// The JSON text of `value` (nlohmann's dump): compact on one line, no spaces
/// (`{"a":[1,2]}`), when `indent` < 0, else pretty-printed with `indent` spaces per level. No
/// trailing newline. Members keep their order; non-ASCII UTF-8 is written as is, invalid
/// UTF-8 bytes in strings become U+FFFD; NaN and infinities become null. The tools' `--json`
/// outputs all go through here. Thread-safe.
std::string Write(const Value& value, int indent = -1);

}  // namespace kite::json

// Reader for GGUF files (version 2 and 3), the container of llama.cpp models and
// vocabularies. Host tools only.
//
// Layout (little-endian): "GGUF", uint32 version, uint64 n_tensors, uint64 n_kv, then n_kv
// key/value pairs (key: uint64 length + bytes; uint32 value type; value), then n_tensors
// tensor infos (name, uint32 n_dims, n_dims uint64 extents ne[], uint32 ggml type, uint64
// offset), then padding to `general.alignment` (default 32) and the tensor data. Strings
// are uint64 length + UTF-8 bytes; arrays are uint32 element type + uint64 count +
// elements. A file with no tensors may end right after its key/value pairs (llama.cpp's
// vocabulary-only files do): no padding is demanded then.
//
// Every length, count, type, offset and size is checked against the file before use, with
// uint64 overflow checks; errors name the key or tensor and the problem.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace kite::convert {

/// GGUF value types (the uint32 stored before each value).
enum class GgufType : uint32_t {
  kU8 = 0,
  kI8 = 1,
  kU16 = 2,
  kI16 = 3,
  kU32 = 4,
  kI32 = 5,
  kF32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kU64 = 10,
  kI64 = 11,
  kF64 = 12,
};

/// Name of a GGUF value type ("u32", "string", ...; "type N" for unknown values).
std::string GgufTypeName(GgufType type);

/// ggml tensor types this reader knows the block size of (others are refused).
enum class GgmlType : uint32_t {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ4_1 = 3,
  kQ5_0 = 6,
  kQ5_1 = 7,
  kQ8_0 = 8,
  kQ8_1 = 9,
  kQ2_K = 10,
  kQ3_K = 11,
  kQ4_K = 12,
  kQ5_K = 13,
  kQ6_K = 14,
  kQ8_K = 15,
  kIQ4_NL = 20,
  kIQ4_XS = 23,
  kI8 = 24,
  kI16 = 25,
  kI32 = 26,
  kI64 = 27,
  kF64 = 28,
  kBF16 = 30,
};

/// Name of a ggml type ("F32", "Q8_0", ...; "type N" for unknown values).
std::string GgmlTypeName(GgmlType type);

/// One key/value pair. Scalars are widened into the matching member; strings and arrays
/// point into the file bytes owned by the GgufFile.
struct GgufValue {
  GgufType type = GgufType::kU8;
  uint64_t u = 0;       ///< unsigned integers and bool (0/1)
  int64_t i = 0;        ///< signed integers
  double f = 0;         ///< f32 and f64
  absl::string_view s;  ///< string
  // Arrays:
  GgufType elem_type = GgufType::kU8;  ///< element type (never kArray: nested arrays are refused)
  uint64_t count = 0;                  ///< number of elements
  const uint8_t* elems = nullptr;      ///< numeric elements, packed little-endian
  std::vector<absl::string_view> strings;  ///< string elements (elem_type kString)
};

/// One tensor info, resolved against the data section.
struct GgufTensor {
  std::string name;
  std::vector<uint64_t> ne;  ///< extents, ne[0] first (the contiguous dimension)
  GgmlType type = GgmlType::kF32;
  uint64_t offset = 0;  ///< from the start of the data section (a multiple of the alignment)
  uint64_t size = 0;    ///< bytes
  const uint8_t* data = nullptr;  ///< points into the file bytes
  /// Product of ne.
  uint64_t elements() const {
    uint64_t n = 1;
    for (uint64_t d : ne) n *= d;
    return n;
  }
};

/// A parsed GGUF file. Owns the file bytes; the values and tensors point into them.
/// Move-only (moving keeps the pointers valid).
class GgufFile {
 public:
  GgufFile() = default;
  GgufFile(GgufFile&&) = default;
  GgufFile& operator=(GgufFile&&) = default;
  GgufFile(const GgufFile&) = delete;
  GgufFile& operator=(const GgufFile&) = delete;

  uint32_t version() const { return version_; }
  uint32_t alignment() const { return alignment_; }
  /// The key/value pairs, in file order.
  const std::vector<std::pair<std::string, GgufValue>>& values() const { return values_; }
  const std::vector<GgufTensor>& tensors() const { return tensors_; }

  /// The value of `key`, or null.
  const GgufValue* Find(absl::string_view key) const;
  /// The tensor named `name`, or null.
  const GgufTensor* FindTensor(absl::string_view name) const;

  // Typed getters. NotFound when the key is missing; InvalidArgument naming the key when its
  // type does not fit (integers of any width are accepted when the value fits).
  absl::StatusOr<std::string> GetString(absl::string_view key) const;
  absl::StatusOr<uint64_t> GetUint(absl::string_view key) const;
  absl::StatusOr<int64_t> GetInt(absl::string_view key) const;
  absl::StatusOr<double> GetFloat(absl::string_view key) const;
  absl::StatusOr<bool> GetBool(absl::string_view key) const;
  /// A string array's elements.
  absl::StatusOr<std::vector<std::string>> GetStringArray(absl::string_view key) const;
  /// A numeric array (any integer or float element type) as doubles.
  absl::StatusOr<std::vector<double>> GetNumberArray(absl::string_view key) const;

 private:
  friend absl::StatusOr<GgufFile> ParseGguf(std::vector<uint8_t> bytes);
  std::vector<uint8_t> bytes_;
  uint32_t version_ = 0;
  uint32_t alignment_ = 32;
  std::vector<std::pair<std::string, GgufValue>> values_;
  std::vector<GgufTensor> tensors_;
};

/// Largest number of elements a tensor may have (2^48: far beyond any model, far below
/// overflow of byte sizes).
inline constexpr uint64_t kGgufMaxTensorElements = uint64_t{1} << 48;

/// Parses a whole GGUF file held in `bytes` (taken over by the result). Fails with
/// InvalidArgument ("not a GGUF file"), Unimplemented (version 1 or a big-endian file, an
/// unknown tensor type) or DataLoss (anything malformed or truncated), naming the key or
/// tensor and the byte offset. Pure function, thread-safe.
absl::StatusOr<GgufFile> ParseGguf(std::vector<uint8_t> bytes);

/// Reads and parses the GGUF file at `path` (errors prefixed with the path).
absl::StatusOr<GgufFile> ReadGgufFile(const std::string& path);

/// Block size (elements) and bytes per block of a ggml type; false for unknown types.
bool GgmlBlockInfo(GgmlType type, uint64_t* block_elements, uint64_t* block_bytes);

}  // namespace kite::convert

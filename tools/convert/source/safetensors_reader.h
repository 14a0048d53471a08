// Reader for safetensors files (Hugging Face weights): a little-endian uint64 header length
// N, N bytes of JSON describing each tensor (dtype, shape, data_offsets relative to the end
// of the header), then the raw tensor bytes. Host tools only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace kite::convert {

/// Largest JSON header accepted (the safetensors library's own limit is 100 MB).
inline constexpr uint64_t kMaxSafetensorsHeaderBytes = 100u << 20;

/// Element types the converter reads (others are rejected with their name).
enum class SafetensorsDType { kF32, kF16, kBF16 };

/// Bytes per element of a dtype (4 or 2).
uint32_t SafetensorsDTypeBytes(SafetensorsDType dtype);

/// Name as the header spells it ("F32", "F16", "BF16").
const char* SafetensorsDTypeName(SafetensorsDType dtype);

/// One tensor of a header.
struct SafetensorsEntry {
  std::string name;
  SafetensorsDType dtype = SafetensorsDType::kF32;
  std::vector<uint64_t> shape;  ///< as stored ([] for a scalar, which holds 1 element)
  uint64_t begin = 0;           ///< offset of the first byte, from the start of the data
  uint64_t end = 0;             ///< one past the last byte
};

/// A parsed and checked header.
struct SafetensorsHeader {
  uint64_t data_start = 0;                ///< file offset of the data section: 8 + N
  std::vector<SafetensorsEntry> tensors;  ///< in header order
  /// The entry named `name`, or nullptr. Linear.
  const SafetensorsEntry* Find(absl::string_view name) const;
};

/// Parses the header at the start of `bytes` (at least the first 8 + N bytes of the file;
/// more is fine) of a file of `file_size` bytes. Checks: the file holds the 8-byte length,
/// N <= kMaxSafetensorsHeaderBytes and 8 + N <= file_size, the header is a JSON object
/// whose entries (other than "__metadata__", which must be an object) are objects with a
/// known "dtype", a "shape" of non-negative integers and "data_offsets" [begin, end] with
/// begin <= end; element count times element size (overflow-checked) equals end - begin;
/// every range lies inside the data section; no two ranges overlap; no duplicate names.
/// Errors (DataLoss; Unimplemented for an unsupported dtype) name `name_for_errors` and the
/// tensor. Pure function, thread-safe.
absl::StatusOr<SafetensorsHeader> ParseSafetensorsHeader(absl::string_view bytes,
                                                         uint64_t file_size,
                                                         absl::string_view name_for_errors);

/// An open safetensors file whose header has been checked. Reads tensors on demand with
/// pread, so only one tensor is in memory at a time. Not copyable; movable. Reads from one
/// object may run on several threads at once.
class SafetensorsFile {
 public:
  /// Opens `path` and parses its header. NotFound when it cannot be opened, else the
  /// parser's errors (naming the path).
  static absl::StatusOr<SafetensorsFile> Open(const std::string& path);

  SafetensorsFile(SafetensorsFile&& other) noexcept;
  SafetensorsFile& operator=(SafetensorsFile&& other) noexcept;
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;
  ~SafetensorsFile();

  const std::string& path() const { return path_; }
  const SafetensorsHeader& header() const { return header_; }

  /// Reads tensor `entry` (one of header().tensors) and widens it to f32 (F16 and BF16
  /// exactly). DataLoss naming the path and tensor when the read comes up short.
  absl::StatusOr<std::vector<float>> ReadF32(const SafetensorsEntry& entry) const;

 private:
  SafetensorsFile() = default;
  std::string path_;
  int fd_ = -1;
  SafetensorsHeader header_;
};

/// Widens IEEE half-precision bits to f32 (exact, including subnormals, Inf and NaN).
float HalfToFloat(uint16_t h);

/// Widens bfloat16 bits to f32 (exact: the bits shifted left by 16).
float Bf16ToFloat(uint16_t b);

}  // namespace kite::convert

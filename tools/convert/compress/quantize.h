// Q4_G weight quantization: symmetric 4-bit groups along the input dimension with one f16
// scale per group, in the Q4_ROW_GROUPS byte layout of sdk/schema/kite.fbs. Host tools only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace kite::convert {

/// Group size used when none is given.
inline constexpr uint32_t kDefaultGroupSize = 32;

/// A [rows, cols] matrix in the Q4_ROW_GROUPS layout. Owns its bytes.
struct Q4Matrix {
  uint64_t rows = 0;
  uint64_t cols = 0;
  uint32_t group_size = 0;
  /// rows * groups() * group_size / 2 bytes: group after group, row after row. Byte j of
  /// a group holds element 2j in its low nibble and 2j+1 in its high nibble, each as q + 8.
  std::vector<uint8_t> data;
  /// rows * groups() IEEE half scales (bits), row-major. Element value = q * scale + min.
  std::vector<uint16_t> scales;
  /// Asymmetric groups: rows * groups() IEEE half offsets (bits); empty when symmetric.
  std::vector<uint16_t> mins;

  /// Groups per row: ceil(cols / group_size).
  uint64_t groups() const { return group_size ? (cols + group_size - 1) / group_size : 0; }
};

/// Checks a Q4_G group size: a positive even number, one of 32, 64 or 128.
absl::Status ValidateGroupSize(uint32_t group_size);

/// How a Q4_G group's scale is chosen.
enum class ScaleRule {
  /// d = m / -8 where m is the group's value of largest magnitude (m maps exactly to -8).
  kMaxAbs,
  /// Tries divisors around the max-abs rule (m / -8 included); for each, refits d by least
  /// squares to the rounded q, rounds d to f16, requantizes, and keeps the d with the
  /// smallest squared error of the group. Never worse than kMaxAbs in squared error.
  kSearch,
};

/// Quantizes the row-major [rows, cols] f32 matrix `w` (rows * cols values), symmetric:
/// per group a scale d chosen by `rule` and rounded to f16, then q = clamp(round(x / d),
/// -8, 7) with round-half-away-from-zero. With `bits` 3, q = clamp(round(x / d), -4, 3)
/// instead (the scale rules scaled alike; the codes still stored as q + 8 nibbles; layout
/// Q3_R16_G32 packs them as u = q + 4); other `bits` fail. A group whose f16 scale is 0 (all zeros, or
/// values too small for f16) stores d = 0 and q = 0. Columns past `cols` in the last group
/// are q = 0. Fails for an invalid group size, an empty matrix, a non-finite value, or a
/// scale that overflows f16 (|m| > 8 * 65504); the error gives the row and column.
absl::StatusOr<Q4Matrix> QuantizeQ4G(const float* w, uint64_t rows, uint64_t cols,
                                     uint32_t group_size, ScaleRule rule = ScaleRule::kSearch,
                                     int bits = 4);

/// Like QuantizeQ4G but asymmetric: per group a scale d and an offset m (both f16),
/// q = clamp(round((x - m) / d), -8, 7), w = q * d + m. The 16 levels start spanning
/// [min, max]; a search over trimmed ranges, each refit by least squares in (d, m), keeps
/// the pair with the smallest squared error. A constant group stores d = 0, m = its value.
/// Padding columns are q = 0 (they are multiplied by zero activations).
absl::StatusOr<Q4Matrix> QuantizeQ4GAsymmetric(const float* w, uint64_t rows, uint64_t cols,
                                               uint32_t group_size);

/// Expands a Q4Matrix back to row-major [rows, cols] f32 (q * scale, padding dropped).
std::vector<float> DequantizeQ4G(const Q4Matrix& m);

/// A [rows, cols] matrix as int8 with one f32 scale per row (Q8_C, ROW_MAJOR layout).
struct Q8Matrix {
  uint64_t rows = 0;
  uint64_t cols = 0;
  std::vector<int8_t> data;   ///< rows * cols values, row-major
  std::vector<float> scales;  ///< one per row; element value = q * scale
};

/// Quantizes each row of `w` symmetrically: scale = max|row| / 127, q = round(x / scale)
/// (a zero row gets scale 0). Fails for an empty matrix or a non-finite value.
absl::StatusOr<Q8Matrix> QuantizeQ8C(const float* w, uint64_t rows, uint64_t cols);

/// Expands a Q8Matrix back to row-major f32.
std::vector<float> DequantizeQ8C(const Q8Matrix& m);

/// rms(a - b) / rms(a) over `n` values, computed in double. Returns 0 when a and b are
/// equal, including the all-zero case; returns +infinity when rms(a) is 0 but b differs.
double RelativeRmsError(const float* a, const float* b, size_t n);

}  // namespace kite::convert

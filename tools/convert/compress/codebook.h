// Non-uniform 4-bit quantization with a learned per-tensor codebook (layout Q4_R16_G32_CB):
// w ~= d[r][g] * codebook[u], 16 int8 entries per tensor, one f16 scale per row and group
// of 32 columns, 4-bit codes.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "sdk/format/blocks.h"

namespace kite::convert {

/// A matrix quantized against one codebook, unpacked (kernels::PackQ4R16Sym packs the codes
/// and scales into the Q4_R16_G32_CB blocks; the codebook goes into the tensor's metadata).
struct Q4CodebookMatrix {
  uint64_t rows = 0;
  uint64_t cols = 0;
  /// rows x padded_cols codes (0..15, one per byte), padded_cols = groups * 32; padding
  /// columns hold 8.
  std::vector<uint8_t> codes;
  /// rows x groups f16 scales (bits), row-major; groups = ceil(cols / 32).
  std::vector<uint16_t> scales;
  /// The entries, ascending, each in [-kQ4CodebookMax, kQ4CodebookMax].
  std::array<int8_t, kQ4CodebookEntries> codebook{};
};

/// Learns a codebook for the row-major [rows, cols] matrix `w` and quantizes it to it:
/// scales start at max|group| / 127; then, for a fixed number of rounds, Lloyd's k-means
/// (fixed iterations, starting from a uniform grid, then from the previous round's entries)
/// runs on the scale-normalized weights w / d of a deterministic strided sample, each
/// weighted by d^2 times `col_weight[column]` (the calibration Hessian diagonal, E[x^2] of
/// the input; null: 1), the entries are rounded to int8, and every group picks the scale
/// of least weighted error among its current one and those mapping its largest (smallest)
/// weight to the largest (smallest) entry (in the last round also slightly shrunk), each
/// also refit once by weighted least squares against its nearest-entry codes. The sample
/// is sorted once per round, so a Lloyd iteration costs O(entries log samples); codes come
/// from a Q4CodeTable. Deterministic; single-threaded (kite-convert runs several matrices
/// at once). Fails (naming the row and column) on a non-finite value or a scale that
/// overflows f16.
absl::StatusOr<Q4CodebookMatrix> QuantizeQ4Codebook(const float* w, uint64_t rows, uint64_t cols,
                                                    const float* col_weight);

/// The code of the entry of ascending `codebook` nearest `v` (the lower one on a tie).
uint8_t NearestCode(const std::array<int8_t, kQ4CodebookEntries>& codebook, float v);

/// NearestCode of one codebook as a table lookup, for code searches that visit every weight
/// many times: v <= (a + b) / 2 picks entry a over its successor b, and those midpoints are
/// multiples of 1/2, so the code depends only on ceil(2 v) (clamped to the entries' range).
class Q4CodeTable {
 public:
  /// The table of ascending `codebook`.
  explicit Q4CodeTable(const std::array<int8_t, kQ4CodebookEntries>& codebook);

  /// Equals NearestCode(codebook, v) for every v that is not NaN.
  uint8_t Code(float v) const { return CodeAt(Index(Clamped(v))); }

  /// 2 v clamped to the entries' range, the first step of a table index. Not NaN.
  static float Clamped(float v) {
    return std::min(std::max(2.0f * v, static_cast<float>(kLowest)),
                    static_cast<float>(kHighest));
  }

  /// The table index of a Clamped value: its ceiling. Branch-free, and a separate step from
  /// Clamped, so that a loop over many values of either one vectorizes (GCC does not
  /// vectorize the two in one loop without -fno-trapping-math).
  static int Index(float clamped) {
    const int t = static_cast<int>(clamped);  // toward zero; the ceiling adds one below
    return t + static_cast<int>(static_cast<float>(t) < clamped);
  }

  /// The code at an Index.
  uint8_t CodeAt(int index) const { return codes_[static_cast<size_t>(index - kLowest)]; }

 private:
  // ceil(2 v) at and below kLowest (above kHighest) gives the first (last) entry, since
  // a + b of two entries lies in [-2 * kQ4CodebookMax, 2 * kQ4CodebookMax].
  static constexpr int kLowest = -2 * kQ4CodebookMax;
  static constexpr int kHighest = 2 * kQ4CodebookMax + 1;
  std::array<uint8_t, kHighest - kLowest + 1> codes_{};
};

}  // namespace kite::convert

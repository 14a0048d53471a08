// GPTQ-style 4-bit quantization with error compensation (Frantar et al., "GPTQ: Accurate
// Post-Training Quantization for Generative Pre-trained Transformers"): columns are
// quantized in order and each column's rounding error is spread over the columns not yet
// quantized, weighted by the inverse of the calibration Hessian H = X^T X. Host tools only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tools/convert/compress/codebook.h"
#include "tools/convert/compress/quantize.h"

namespace kite::convert {

/// GPTQ settings.
struct GptqOptions {
  uint32_t group_size = kDefaultGroupSize;  ///< 32, 64 or 128
  /// Asymmetric groups (scale + offset, as QuantizeQ4GAsymmetric) when true; symmetric
  /// (scale only, as QuantizeQ4G with `scale_rule`) when false.
  bool asymmetric = true;
  ScaleRule scale_rule = ScaleRule::kSearch;  ///< symmetric groups only
  /// Code width: 4, or 3 for symmetric groups only (codes in [-4, 3], as QuantizeQ4G
  /// with bits 3; for Q3_R16_G32).
  int bits = 4;
  /// Dampening added to H's diagonal, as a fraction of its mean diagonal value.
  double damp = 0.01;
  /// Treat weights that are exactly 0 as pruned: they are stored as the group's value
  /// nearest 0 (exactly 0 for symmetric groups) whatever the compensation adds to them,
  /// and the error this causes is compensated like a rounding error (SparseGPT-style
  /// reconstruction with a fixed mask).
  bool keep_zeros = false;
  /// Act-order: quantize columns by decreasing H_jj instead of left to right. Groups stay
  /// contiguous in the stored layout, so their grids are then fitted to the original
  /// weights before any compensation ("static groups").
  bool act_order = false;
};

/// Quantizes the row-major [rows, cols] matrix `w` (rows = output features) to Q4_G with
/// GPTQ. `xtx` is the cols x cols row-major matrix sum_t x_t x_t^T over the calibration
/// inputs x_t of this layer (only its ratios matter). Each group's scale (and offset) is
/// fitted, with the same rules as the round-to-nearest quantizers, to the compensated
/// weights when the group starts. A column that never sees input (H_jj = 0) is quantized
/// to nearest and passes no error on. When H is identity-like the result equals
/// QuantizeQ4G / QuantizeQ4GAsymmetric exactly. `dequantized`, when not null, receives the
/// quantized weights as f32. Fails like the round-to-nearest quantizers, for a null or
/// non-finite `xtx`, or when H stays singular after increasing the dampening.
absl::StatusOr<Q4Matrix> QuantizeQ4GGptq(const float* w, uint64_t rows, uint64_t cols,
                                         const double* xtx, const GptqOptions& options,
                                         std::vector<float>* dequantized = nullptr);

/// GPTQ against a codebook: keeps m's codebook and scales (fitted to the original weights,
/// like act-order's static groups) and rechooses m's codes for `w` ([rows, cols], as given
/// to QuantizeQ4Codebook), column by column, each the entry nearest the compensated weight,
/// its error passed on to the later columns through the inverse Hessian of `xtx` (dampened
/// by `damp` times its mean diagonal). Fails for a null `xtx` or a singular H.
absl::Status GptqCodebookCodes(const float* w, uint64_t rows, uint64_t cols, const double* xtx,
                               double damp, Q4CodebookMatrix* m);

/// SparseGPT-style reconstruction with a fixed mask: sets the weights of `w` ([rows, cols],
/// row-major) where `pruned` (rows * cols flags) is non-zero to 0 and compensates each
/// one's removal on the columns after it, in column order, with the inverse Hessian of
/// `xtx` (dampened by `damp` times its mean diagonal), as GPTQ does for rounding errors.
/// The kept weights change; the pruned ones end exactly 0. `w` holds the weights before
/// pruning. Fails for null arguments, a non-finite weight or statistic, or a singular H.
absl::Status CompensatePruning(float* w, uint64_t rows, uint64_t cols, const uint8_t* pruned,
                               const double* xtx, double damp = 0.01);

/// SparseGPT 2:4 pruning: the same sweep as CompensatePruning, but the mask is chosen as
/// the sweep reaches each aligned group of 4 columns: in every row the 2 weights (after the
/// compensation so far) of lowest w^2 / [H^-1]_jj are pruned (a trailing group of n < 4
/// columns prunes n - 2). The result is 2:4 sparse. Fails like CompensatePruning.
absl::Status PruneSparseGpt24(float* w, uint64_t rows, uint64_t cols, const double* xtx,
                              double damp = 0.01);

/// sum over rows r of (w_r - v_r)^T H (w_r - v_r) = ||X (W - V)^T||_F^2 for H = X^T X:
/// the squared output error of replacing weights `w` by `v` on the calibration inputs.
double HessianWeightedError(const float* w, const float* v, uint64_t rows, uint64_t cols,
                            const double* xtx);

}  // namespace kite::convert

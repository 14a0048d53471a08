// Activation-aware scaling before 4-bit quantization (AWQ-style: Lin et al., "AWQ:
// Activation-aware Weight Quantization for LLM Compression and Acceleration"). Each linear
// layer's input channels get scales s_j, searched on the calibration statistics, that
// multiply the weight columns (W[:, j] *= s_j) and are folded into whatever produces that
// input (divided out), so the f32 model computes the same function up to rounding while
// the 4-bit grid spends its precision on the channels that carry the most activation.
// Host tools only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tools/convert/compress/calibration.h"
#include "tools/convert/compress/quantize.h"
#include "tools/convert/source/source_model.h"

namespace kite::convert {

/// How the scales are searched: the 4-bit quantizer the file will use, and the grid.
struct AwqOptions {
  uint32_t group_size = kDefaultGroupSize;  ///< 32, 64 or 128
  bool asymmetric = true;  ///< QuantizeQ4GAsymmetric when true, else QuantizeQ4G(scale_rule)
  ScaleRule scale_rule = ScaleRule::kSearch;  ///< symmetric groups only
  size_t grid = 20;     ///< exponents alpha = i / (grid - 1), i in [0, grid); at least 2
  size_t threads = 0;   ///< layers searched at once (0: one per CPU); results do not depend on it
};

/// The scales for exponent `alpha`: s_c = mean_square[c]^(alpha / 2), normalized so that
/// sqrt(max s * min s) = 1 over the channels with a positive mean square; channels whose
/// mean square is 0 (never active) get 1. alpha = 0 gives all ones.
std::vector<float> AwqScales(const std::vector<double>& mean_square, double alpha);

/// One matrix of a search group: row-major [rows, cols], cols = the shared input width.
struct AwqMatrix {
  const float* w = nullptr;
  uint64_t rows = 0;
};

/// The outcome of one group's search.
struct AwqSearchResult {
  double alpha = 0.0;          ///< the chosen exponent (the smallest among equal errors)
  std::vector<float> scales;   ///< per channel (AwqScales of the chosen alpha)
  double error = 0.0;          ///< output error with the chosen scales
  double error_at_zero = 0.0;  ///< output error without scaling (alpha = 0)
};

/// Searches alpha on the grid for matrices that read the same input of `cols` columns with
/// statistics `xtx` (cols x cols, sum of x x^T): for each alpha the matrices are scaled,
/// quantized as `options` say and unscaled, and the error is the sum over the matrices of
/// HessianWeightedError against the originals (the squared output error on the
/// calibration inputs). Column j uses channel channel_of[j] (empty: channel j), so columns
/// that must share a scale (wo under grouped-query attention) share one; `mean_square`
/// has one entry per channel. Returns the alpha of least error, so error <= error_at_zero.
/// Fails when a quantizer fails (non-finite weights, bad group size) or the sizes disagree.
absl::StatusOr<AwqSearchResult> SearchActivationScales(const std::vector<AwqMatrix>& matrices,
                                                       uint64_t cols, const double* xtx,
                                                       const std::vector<double>& mean_square,
                                                       const std::vector<size_t>& channel_of,
                                                       const AwqOptions& options);

/// One searched group of a model, for the report.
struct AwqGroupReport {
  std::string name;  ///< e.g. "layers.0.attention.wq+wk+wv"
  double alpha = 0.0;
  double error = 0.0;
  double error_at_zero = 0.0;
};

/// Searches and folds scales into every layer of `model` (a Llama model with the tensors
/// of sdk/format/tensor_names.h, f32 data present), in four groups per layer:
///  - wo's input: wo columns *= s, wv rows (and bv) /= s; under grouped-query attention
///    the columns of the query heads that read one value row share its scale;
///  - wq, wk, wv's input: columns *= s, attention_norm /= s;
///  - w2's input: columns *= s, w3 rows /= s (silu(w1 x) * (w3 x) is linear in w3 x);
///  - w1, w3's input: columns *= s, ffn_norm /= s.
/// wo and w2 are searched before the groups whose matrices their folding changes (wv, w3).
/// The embedding and the output head are not scaled. A group whose search picks alpha = 0
/// is left untouched. `stats` (from Calibrate on the unscaled model) is updated to the
/// scaled inputs (xtx_jk / (s_j s_k)), so GPTQ afterwards sees the activations the scaled
/// weights read. Deterministic for any options.threads. Fails, naming the tensor, when a
/// tensor or its statistics is missing or has the wrong shape.
absl::StatusOr<std::vector<AwqGroupReport>> ApplyActivationScaling(SourceModel* model,
                                                                   CalibrationStats* stats,
                                                                   const AwqOptions& options);

}  // namespace kite::convert

// Weight pruning for the converter: unstructured (per output row) and 2:4 semi-structured,
// scored by magnitude |W| or by Wanda's |W| * ||X_j||_2 (Sun et al., "A Simple and Effective
// Pruning Approach for Large Language Models"). Host tools only.
#pragma once

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"

namespace kite::convert {

/// Zeroes, in every output row of the row-major [rows, cols] f32 matrix `w` (rows = output
/// features), the round(sparsity * cols) weights of lowest score, as Wanda compares weights
/// per output row. The score of w[r][j] is |w[r][j]|, times act_norm[j] when `act_norm` is
/// not null (act_norm: cols values, the L2 norm of input column j over calibration tokens).
/// Ties break towards the lower column index being pruned first. `sparsity` outside [0, 1]
/// is clamped. No validation: see CheckedPruneUnstructured.
void PruneUnstructured(float* w, size_t rows, size_t cols, float sparsity,
                       const float* act_norm);

/// 2:4 pruning of the row-major [rows, cols] matrix `w`: in every aligned group of 4
/// columns of every row, keeps the 2 weights of highest score (scored as in
/// PruneUnstructured) and zeroes the other 2. A trailing group of fewer than 4 columns
/// keeps its 2 highest (so a group of 1 or 2 is left unchanged). Ties keep the lower index.
void Prune24(float* w, size_t rows, size_t cols, const float* act_norm);

/// PruneUnstructured after checks: w not null, rows and cols positive, 0 <= sparsity < 1,
/// every act_norm value finite and >= 0.
absl::Status CheckedPruneUnstructured(float* w, size_t rows, size_t cols, float sparsity,
                                      const float* act_norm);

/// Prune24 after checks: w not null, rows and cols positive, act_norm finite and >= 0.
absl::Status CheckedPrune24(float* w, size_t rows, size_t cols, const float* act_norm);

/// True when every aligned group of 4 columns in every row of `w` has at most 2 non-zeros.
bool Is24Sparse(const float* w, size_t rows, size_t cols);

}  // namespace kite::convert

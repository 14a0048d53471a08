// f32 matrix-vector product: y[r] = sum_c w[r * cols + c] * x[c], for r in [0, rows).
#pragma once

#include <cstddef>

namespace kite::kernels {

/// Signature of every f32-matvec variant. `w` is row-major [rows, cols]; `y` has `rows`
/// floats and must not alias `x`. Pure function of its inputs; safe to call concurrently
/// on disjoint row ranges (pass w + r0 * cols and y + r0).
using F32MatvecFn = void (*)(size_t rows, size_t cols, const float* w, const float* x, float* y);

/// Scalar reference (the specification).
void f32_matvec_ref(size_t rows, size_t cols, const float* w, const float* x, float* y);

}  // namespace kite::kernels

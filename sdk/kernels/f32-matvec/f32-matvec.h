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

/// AVX2 variant; the CPU must support AVX2 + FMA (x86-64 builds with GCC or
/// Clang only; dispatch checks the features). Same contract and thread safety as the reference.
/// Sums in a different order than the reference: |y - y_ref| <= 1e-5 * sum_c |w x|
/// in practice.
void f32_matvec_avx2(size_t rows, size_t cols, const float* w, const float* x, float* y);

/// AVX-512 variant; the CPU must support AVX512F/BW/VL/DQ + FMA (x86-64 builds with GCC or
/// Clang only; dispatch checks the features). Same contract and thread safety as the reference.
/// Sums in a different order than the reference: |y - y_ref| <= 1e-5 * sum_c |w x|
/// in practice. Works in 256-bit vectors (AVX-512VL masks for the tail): they stream the
/// weights faster than 512-bit loads on Zen 5.
void f32_matvec_avx512(size_t rows, size_t cols, const float* w, const float* x, float* y);

/// NEON variant (aarch64, and armv7 with NEON + VFPv4; Arm builds only, dispatch checks the
/// feature). Same contract and thread safety as the reference. Sums in a different order
/// than the reference (8 column partial sums, fused multiply-adds): |y - y_ref| <= 1e-5 *
/// sum_c |w x| in practice.
void f32_matvec_neon(size_t rows, size_t cols, const float* w, const float* x, float* y);

}  // namespace kite::kernels

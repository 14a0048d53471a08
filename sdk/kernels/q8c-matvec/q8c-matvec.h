// int8-weight (one f32 scale per row) x f32-activation matrix-vector product, for tensors
// kept at 8 bits (embeddings / output head).
#pragma once

#include <cstddef>
#include <cstdint>

namespace kite::kernels {

/// y[r] = scales[r] * sum_c w[r * cols + c] * x[c], r in [0, rows). `w` is row-major int8
/// (Q8_C, ROW_MAJOR). Pure; thread-safe on disjoint row ranges.
using Q8cMatvecFn = void (*)(size_t rows, size_t cols, const int8_t* w, const float* scales,
                             const float* x, float* y);

/// Scalar reference (the specification).
void q8c_matvec_ref(size_t rows, size_t cols, const int8_t* w, const float* scales, const float* x,
                    float* y);

/// AVX2 variant; the CPU must support AVX2 + FMA (x86-64 builds with GCC or
/// Clang only; dispatch checks the features). Same contract and thread safety as the reference.
/// Sums in a different order than the reference: |y - y_ref| <= 1e-5 *
/// |scales[r]| * sum_c |w x| in practice.
void q8c_matvec_avx2(size_t rows, size_t cols, const int8_t* w, const float* scales,
                     const float* x, float* y);

/// AVX-512 variant; the CPU must support AVX512F/BW/VL/DQ + FMA (x86-64 builds with GCC or
/// Clang only; dispatch checks the features). Same contract and thread safety as the reference.
/// Sums in a different order than the reference: |y - y_ref| <= 1e-5 *
/// |scales[r]| * sum_c |w x| in practice.
void q8c_matvec_avx512(size_t rows, size_t cols, const int8_t* w, const float* scales,
                       const float* x, float* y);

/// NEON variant (aarch64, and armv7 with NEON + VFPv4; Arm builds only, dispatch checks the
/// feature). Same contract and thread safety as the reference. Sums in a different order
/// than the reference: |y - y_ref| <= 1e-5 * |scales[r]| * sum_c |w x| in practice. (No
/// dotprod variant: x is f32, and quantizing it would leave the reference's contract.)
void q8c_matvec_neon(size_t rows, size_t cols, const int8_t* w, const float* scales,
                     const float* x, float* y);

}  // namespace kite::kernels

// Numerically stable softmax in place.
#pragma once

#include <cstddef>

namespace kite::kernels {

/// x[i] = exp(x[i] - max) / sum_j exp(x[j] - max) over `n` > 0 floats. Pure.
using SoftmaxFn = void (*)(size_t n, float* x);

/// Scalar reference (the specification).
void softmax_ref(size_t n, float* x);

/// AVX2 variant; the CPU must support AVX2 + FMA (x86-64 builds with GCC or
/// Clang only; dispatch checks the features). Same contract and thread safety as the reference.
/// Uses a polynomial exp (max error 1 ulp, sdk/kernels/simd/) and a blocked sum:
/// relative difference to the reference ~1e-6.
void softmax_avx2(size_t n, float* x);

/// AVX-512 variant; the CPU must support AVX512F/BW/VL/DQ + FMA (x86-64 builds with GCC or
/// Clang only; dispatch checks the features). Same contract and thread safety as the reference.
/// Uses a polynomial exp (max error 1 ulp, sdk/kernels/simd/) and a blocked sum:
/// relative difference to the reference ~1e-6.
void softmax_avx512(size_t n, float* x);

/// NEON variant (aarch64, or armv7 with NEON + VFPv4; dispatch checks the features). Same
/// contract and thread safety as the reference. Uses a polynomial exp (a few ulp,
/// sdk/kernels/simd/f32-exp-neon.h) and a blocked sum: relative difference to the reference
/// ~1e-6.
void softmax_neon(size_t n, float* x);

}  // namespace kite::kernels

// RMS normalisation: out = weight * x / sqrt(mean(x^2) + eps).
#pragma once

#include <cstddef>

namespace kite::kernels {

/// Normalises `n` floats of `x` and scales by `weight`; `out` may alias `x`. Pure.
using RmsNormFn = void (*)(size_t n, const float* x, const float* weight, float eps, float* out);

/// Scalar reference (the specification).
void rmsnorm_ref(size_t n, const float* x, const float* weight, float eps, float* out);

/// AVX2 variant; the CPU must support AVX2 + FMA (x86-64 builds with GCC or
/// Clang only; dispatch checks the features). Same contract and thread safety as the reference.
/// The sum of squares is accumulated in a different order than the reference
/// (relative difference ~1e-6); the scaling pass is the same arithmetic.
void rmsnorm_avx2(size_t n, const float* x, const float* weight, float eps, float* out);

/// AVX-512 variant; the CPU must support AVX512F/BW/VL/DQ + FMA (x86-64 builds with GCC or
/// Clang only; dispatch checks the features). Same contract and thread safety as the reference.
/// The sum of squares is accumulated in a different order than the reference
/// (relative difference ~1e-6); the scaling pass is the same arithmetic.
void rmsnorm_avx512(size_t n, const float* x, const float* weight, float eps, float* out);

/// NEON variant (aarch64, or armv7 with NEON + VFPv4; dispatch checks the features). Same
/// contract and thread safety as the reference. The sum of squares is accumulated in a
/// different order than the reference (relative difference ~1e-6); the scaling pass is the
/// same arithmetic (armv7 NEON flushes denormal results to zero).
void rmsnorm_neon(size_t n, const float* x, const float* weight, float eps, float* out);

}  // namespace kite::kernels

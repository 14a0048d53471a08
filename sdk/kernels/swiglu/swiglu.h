// SwiGLU gate: gate[i] = silu(gate[i]) * up[i], silu(x) = x / (1 + exp(-x)).
#pragma once

#include <cstddef>

namespace kite::kernels {

/// Applies the gate in place on `n` floats of `gate`. Pure.
using SwigluFn = void (*)(size_t n, float* gate, const float* up);

/// Scalar reference (the specification).
void swiglu_ref(size_t n, float* gate, const float* up);

/// AVX2 variant; the CPU must support AVX2 + FMA (x86-64 builds with GCC or
/// Clang only; dispatch checks the features). Same contract and thread safety as the reference.
/// Uses a polynomial exp (max error 1 ulp, sdk/kernels/simd/): relative difference
/// to the reference a few ulp.
void swiglu_avx2(size_t n, float* gate, const float* up);

/// AVX-512 variant; the CPU must support AVX512F/BW/VL/DQ + FMA (x86-64 builds with GCC or
/// Clang only; dispatch checks the features). Same contract and thread safety as the reference.
/// Uses a polynomial exp (max error 1 ulp, sdk/kernels/simd/): relative difference
/// to the reference a few ulp.
void swiglu_avx512(size_t n, float* gate, const float* up);

/// NEON variant (aarch64, and armv7 with NEON + VFPv4; Arm builds only, dispatch checks the
/// feature). Same contract and thread safety as the reference. Uses the polynomial exp of
/// simd/f32-exp-neon.h (a few ulp) and, on armv7, a refined reciprocal for the division
/// (2 ulp): relative difference to the reference a few ulp (armv7 flushes denormal results
/// to zero).
void swiglu_neon(size_t n, float* gate, const float* up);

}  // namespace kite::kernels

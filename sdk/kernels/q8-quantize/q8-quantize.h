// Dynamic int8 quantization of activations, per group along the vector.
#pragma once

#include <cstddef>
#include <cstdint>

namespace kite::kernels {

/// Quantizes `n` floats of `x` to int8 in groups of `group` (even, > 0):
/// scale[g] = max|x| over the group / 127 (0 for an all-zero group), q = round(x / scale).
/// Writes ceil(n / group) * group values to `q` (elements past n are 0), ceil(n / group)
/// scales, and per group the sum of its q values to `sums` (used by kernels for weights
/// with offsets). Pure; thread-safe.
using Q8QuantizeFn = void (*)(size_t n, size_t group, const float* x, int8_t* q, float* scales,
                              int32_t* sums);

/// Scalar reference (the specification).
void q8_quantize_ref(size_t n, size_t group, const float* x, int8_t* q, float* scales,
                     int32_t* sums);

/// AVX2 variant; the CPU must support AVX2 + FMA (x86-64 builds with GCC or
/// Clang only; dispatch checks the features). Same contract and thread safety as the reference.
/// Bit-identical to the reference (q, scales, sums and padding), for every input
/// including zeros, denormals, inf and NaN.
void q8_quantize_avx2(size_t n, size_t group, const float* x, int8_t* q, float* scales,
                      int32_t* sums);

/// AVX-512 variant; the CPU must support AVX512F/BW/VL/DQ + FMA (x86-64 builds with GCC or
/// Clang only; dispatch checks the features). Same contract and thread safety as the reference.
/// Bit-identical to the reference (q, scales, sums and padding), for every input
/// including zeros, denormals, inf and NaN.
void q8_quantize_avx512(size_t n, size_t group, const float* x, int8_t* q, float* scales,
                        int32_t* sums);

/// NEON variant (aarch64, or armv7 with NEON + VFPv4; dispatch checks the features). Same
/// contract and thread safety as the reference. Bit-identical to the reference (q, scales,
/// sums and padding), for every input including zeros, denormals, inf and NaN.
void q8_quantize_neon(size_t n, size_t group, const float* x, int8_t* q, float* scales,
                      int32_t* sums);

}  // namespace kite::kernels

// 3-bit weights (layouts Q3_R16_G32 and Q3_R16_G64, symmetric: w = d * (u - 4)) x
// dynamically quantized int8 activations -> f32: the matrix products of the matrices the
// converter stores at 3 bits. Both layouts are the same 32-column code parts; a scale covers
// one part (G32) or two (G64), so every variant runs the same inner step per part and only
// where it finds the part's codes and scale depends on the layout.
#pragma once

#include <cstddef>
#include <cstdint>

#include "sdk/format/blocks.h"

namespace kite::kernels {

// Block geometry (kQ4R16BlockRows x kQ4R16GroupSize, kQ3R16BlockBytes, ...) lives with the
// format: sdk/format/blocks.h.

/// y[t][r] = sum_g xscale[t][g] * d[r][g / S] * sum_{j<32} (u[r][g][j] - 4) * xq[t][g][j]
/// for tokens t < m and output rows r < rows, i.e. y = x * W^T with W[r][k] = d * (u - 4),
/// where g runs over the 32-column activation groups and S = `groups_per_scale`.
///
/// - `m`: number of tokens (activation rows), >= 1.
/// - `rows`: output rows to write, >= 1. The kernel reads ceil(rows / 16) row blocks.
/// - `groups`: K / 32 (the padded input width in 32-column groups), >= 1, a multiple of S.
/// - `groups_per_scale`: S, 1 for Q3_R16_G32 (blocks of 224 bytes) or 2 for Q3_R16_G64
///   (blocks of 416 bytes, 64 columns each); block bytes B = Q3R16BlockBytes(S).
/// - `w`: Q3_R16_G32 or Q3_R16_G64 data (sdk/schema/kite.fbs) starting at the first 16-row
///   block to compute: ceil(rows / 16) * (groups / S) * B bytes; no alignment required. To
///   split rows between threads, pass w + (first_row / 16) * (groups / S) * B with first_row
///   a multiple of 16, and y + first_row.
/// - `xq`: int8 activations, token t at xq + t * groups * 32 (from q8_quantize with group 32;
///   any int8 value, including -128, is handled exactly).
/// - `xscale`, `xsum`: per token t and group g at [t * groups + g]: the f32 scale and the
///   int32 sum of the group's 32 xq values (used as given, not recomputed; variants may
///   compute sum (u - 4) x as sum u x - 4 xsum, which is exact).
/// - `y`: output, token t's row r at y[t * y_stride + r]; `y_stride` >= rows (in floats).
///   Only those m * rows floats are written. y must not overlap the inputs.
///
/// Integer dot products are exact; the f32 arithmetic may differ between variants in order
/// (they agree with the reference to float rounding of the terms' magnitudes). Kernels
/// assert their preconditions, allocate nothing, and are pure: thread-safe when calls write
/// disjoint parts of y. All pointers are borrowed for the duration of the call.
using Qd8Q3r16Gemm = void(size_t m, size_t rows, size_t groups, size_t groups_per_scale,
                          const uint8_t* w, const int8_t* xq, const float* xscale,
                          const int32_t* xsum, float* y, size_t y_stride);
using Qd8Q3r16GemmFn = Qd8Q3r16Gemm*;

/// Scalar reference (the specification); runs anywhere.
Qd8Q3r16Gemm qd8_q3r16_gemm_ref;
/// AVX2 + FMA + F16C (vpmaddubsw + vpmaddwd). Only call when the CPU has them.
Qd8Q3r16Gemm qd8_q3r16_gemm_avx2;
/// AVX-512 F/BW/VL/VNNI (512-bit vpdpbusd) + FMA + F16C. Only call when the CPU has them.
Qd8Q3r16Gemm qd8_q3r16_gemm_avx512vnni;
/// NEON (vmlal.s8; aarch64, and armv7 with NEON + VFPv4). Only call when the CPU has NEON.
Qd8Q3r16Gemm qd8_q3r16_gemm_neon;
/// NEON dot product (sdot; aarch64 with dotprod). Only call when the CPU has dotprod.
Qd8Q3r16Gemm qd8_q3r16_gemm_neondot;
/// Int8 matrix multiply (smmla, two tokens at a time; aarch64 with i8mm) plus dotprod for a
/// single or last odd token. Only call when the CPU has both i8mm and dotprod.
Qd8Q3r16Gemm qd8_q3r16_gemm_i8mm;

}  // namespace kite::kernels

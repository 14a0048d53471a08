// 2:4 sparse 4-bit weights (dtype Q4_G_SP24, layout Q4_SP24_R16_G64) x dynamically quantized
// int8 activations -> f32: the matrix products of decode (m = 1, bound by memory bandwidth,
// where the 3.25 bits per weight of this layout pay off) and prefill (m tokens at once).
#pragma once

#include <cstddef>
#include <cstdint>

#include "sdk/format/blocks.h"

namespace kite::kernels {

// Block geometry (kQ4SP24BlockRows, kQ4SP24BlockCols, kQ4SP24BlockBytes, ...) lives with
// the format: sdk/format/blocks.h.

/// y[t][r] = sum_g xscale[t][g] * d[r][g / 2] * sum_{i<16} (u[r][g][i] - 8) * xq[t][g][c(r,g,i)]
/// for tokens t < m and output rows r < rows, i.e. y = x * W^T where row r of W holds, in
/// the 32 columns of group g, the 16 kept values d * (u - 8) at columns c(r, g, i) =
/// 4 * (i / 2) + p[r][g][i] (2 per aligned quad of 4 columns) and zeros elsewhere. The scale
/// d is shared by groups 2k and 2k + 1. u, p and d are read from the Q4_SP24_R16_G64 layout
/// (sdk/schema/kite.fbs).
///
/// - `m`: number of tokens (activation rows), >= 1.
/// - `rows`: output rows to write, >= 1. The kernel reads ceil(rows / 16) row blocks.
/// - `groups`: K / 32 (the padded input width in activation groups), >= 1. The weights
///   have ceil(groups / 2) column blocks; with odd `groups`, the last block's second
///   sub-block (padding) is not read.
/// - `w`: Q4_SP24_R16_G64 data starting at the first 16-row block to compute:
///   ceil(rows / 16) * ceil(groups / 2) * 416 bytes; no alignment required. To split rows
///   between threads, pass w + (first_row / 16) * ceil(groups / 2) * 416 with first_row a
///   multiple of 16, and y + first_row.
/// - `xq`: int8 activations, token t at xq + t * groups * 32 (from q8_quantize with group
///   32; any int8 value, including -128, is handled exactly).
/// - `xscale`: per token t and group g at [t * groups + g], the f32 activation scale.
///   (The group sums q8_quantize also writes are not needed: the symmetric weights have no
///   offset.)
/// - `y`: output, token t's row r at y[t * y_stride + r]; `y_stride` >= rows (in floats).
///   Only those m * rows floats are written. y must not overlap the inputs.
///
/// Integer dot products are exact; the f32 arithmetic across groups may differ between
/// variants in order (tested against the reference at 1e-5 relative to the terms'
/// magnitudes). Kernels assert their preconditions, allocate nothing (a few KiB of stack)
/// and are pure: thread-safe when calls write disjoint parts of y. All pointers are
/// borrowed for the duration of the call.
using Qd8Q4sp24Gemm = void(size_t m, size_t rows, size_t groups, const uint8_t* w,
                           const int8_t* xq, const float* xscale, float* y, size_t y_stride);
using Qd8Q4sp24GemmFn = Qd8Q4sp24Gemm*;

// The variants, declared through the function type above (each is defined with the same
// parameters in its ISA file).

/// Scalar reference (the specification); runs anywhere.
Qd8Q4sp24Gemm qd8_q4sp24_gemm_ref;
/// AVX2 + FMA + F16C (vpshufb gathers the kept activations, vpmaddubsw + vpmaddwd). Only
/// call when the CPU has them.
Qd8Q4sp24Gemm qd8_q4sp24_gemm_avx2;
/// AVX-VNNI (256-bit vpdpbusd) + AVX2 + FMA + F16C. Only call when the CPU has them.
Qd8Q4sp24Gemm qd8_q4sp24_gemm_avxvnni;
/// AVX-512 F/BW/VL/VNNI (vpshufb gathers the kept activations, 512-bit vpdpbusd) + FMA +
/// F16C. Only call when the CPU has them.
Qd8Q4sp24Gemm qd8_q4sp24_gemm_avx512vnni;
/// NEON (aarch64, and armv7 with NEON + VFPv4; vtbl gathers the kept activations, vmull.s8
/// + vpadal). Arm builds only; dispatch checks the feature.
Qd8Q4sp24Gemm qd8_q4sp24_gemm_neon;
/// NEON with the dot product (sdot; aarch64 builds only). Only call when the CPU has it.
Qd8Q4sp24Gemm qd8_q4sp24_gemm_neondot;

}  // namespace kite::kernels

// 4-bit weights (layout Q4_R16_G32) x dynamically quantized int8 activations -> f32:
// the matrix products of decode (m = 1 token, bound by memory bandwidth) and prefill
// (m tokens at once, bound by int8 compute).
#pragma once

#include <cstddef>
#include <cstdint>

#include "sdk/format/blocks.h"

namespace kite::kernels {

// Block geometry (kQ4R16BlockRows, kQ4R16GroupSize, kQ4R16BlockBytes,
// kQ4R16SymBlockBytes, ...) lives with the format: sdk/format/blocks.h.

/// y[t][r] = sum_g xscale[t][g] * (d[r][g] * sum_{j<32} u[r][g][j] * xq[t][g][j]
///                                 + o[r][g] * xsum[t][g])
/// for tokens t < m and output rows r < rows, i.e. y = x * W^T with W[r][k] = d * u + o.
///
/// - `m`: number of tokens (activation rows), >= 1.
/// - `rows`: output rows to write, >= 1. The kernel reads ceil(rows / 16) row blocks.
/// - `groups`: K / 32 (the padded input width in groups), >= 1.
/// - `w`: Q4_R16_G32 data (sdk/schema/kite.fbs) starting at the first 16-row block to
///   compute: ceil(rows / 16) * groups * 320 bytes; no alignment required. To split rows
///   between threads, pass w + (first_row / 16) * groups * 320 with first_row a multiple
///   of 16, and y + first_row.
/// - `xq`: int8 activations, token t at xq + t * groups * 32 (from q8_quantize with
///   group 32; any int8 value, including -128, is handled exactly).
/// - `xscale`, `xsum`: per token t and group g at [t * groups + g]: the f32 scale and the
///   int32 sum of the group's 32 xq values (used as given, not recomputed).
/// - `y`: output, token t's row r at y[t * y_stride + r]; `y_stride` >= rows (in floats).
///   Only those m * rows floats are written; nothing else in y is touched. y must not
///   overlap the inputs.
///
/// Integer dot products are exact; the f32 arithmetic per group and across groups may
/// differ between variants in order (they agree with the reference to float rounding of
/// the terms' magnitudes, tested at 1e-5). Kernels assert their preconditions, allocate
/// nothing (a few KiB of stack), and are pure: thread-safe when calls write disjoint parts
/// of y. All pointers are borrowed for the duration of the call.
using Qd8Q4r16Gemm = void(size_t m, size_t rows, size_t groups, const uint8_t* w,
                          const int8_t* xq, const float* xscale, const int32_t* xsum, float* y,
                          size_t y_stride);
using Qd8Q4r16GemmFn = Qd8Q4r16Gemm*;

// The variants, declared through the function type above (each is defined with the same
// parameters in its ISA file).

/// Scalar reference (the specification); runs anywhere.
Qd8Q4r16Gemm qd8_q4r16_gemm_ref;
/// AVX2 + FMA + F16C (vpmaddubsw + vpmaddwd). Only call when the CPU has them.
Qd8Q4r16Gemm qd8_q4r16_gemm_avx2;
/// AVX-VNNI (256-bit vpdpbusd) + AVX2 + FMA + F16C. Only call when the CPU has them.
Qd8Q4r16Gemm qd8_q4r16_gemm_avxvnni;
/// AVX-512 F/BW/VL/VNNI (512-bit vpdpbusd) + FMA + F16C. Only call when the CPU has them.
Qd8Q4r16Gemm qd8_q4r16_gemm_avx512vnni;
/// NEON (aarch64, or armv7 with NEON + VFPv4): vmlal.s8 into int16, widened to int32.
/// Only call when the CPU has NEON.
Qd8Q4r16Gemm qd8_q4r16_gemm_neon;
/// NEON dot product (sdot; aarch64 with the dotprod extension). Only call when the CPU has it.
Qd8Q4r16Gemm qd8_q4r16_gemm_neondot;
/// Int8 matrix multiply (smmla, two tokens at a time; aarch64 with i8mm) plus dotprod for a
/// single or last odd token. Only call when the CPU has both i8mm and dotprod.
Qd8Q4r16Gemm qd8_q4r16_gemm_i8mm;

/// The same product for the offset-free layout Q4_R16_G32_SYM (blocks of kQ4R16SymBlockBytes,
/// W[r][k] = d * (u - 8), i.e. o = -8 d): same arguments and guarantees as above, with `w`
/// ceil(rows / 16) * groups * 288 bytes. One function per variant above, with the same CPU
/// requirements; the Arm ones fold the -8 into the integer dot product
/// (sum (u - 8) x = sum u x - 8 xsum, exact).
Qd8Q4r16Gemm qd8_q4r16sym_gemm_ref;
Qd8Q4r16Gemm qd8_q4r16sym_gemm_avx2;
Qd8Q4r16Gemm qd8_q4r16sym_gemm_avxvnni;
Qd8Q4r16Gemm qd8_q4r16sym_gemm_avx512vnni;
Qd8Q4r16Gemm qd8_q4r16sym_gemm_neon;
Qd8Q4r16Gemm qd8_q4r16sym_gemm_neondot;
Qd8Q4r16Gemm qd8_q4r16sym_gemm_i8mm;

/// The same product for the codebook layout Q4_R16_G32_CB (blocks of kQ4R16SymBlockBytes,
/// W[r][k] = d * codebook[u], o = 0):
///   y[t][r] = sum_g xscale[t][g] * d[r][g] * sum_{j<32} codebook[u[r][g][j]] * xq[t][g][j]
/// `codebook`: the tensor's kQ4CodebookEntries int8 values, each in [-127, 127] (borrowed);
/// other arguments and guarantees as Qd8Q4r16Gemm, with `w` ceil(rows / 16) * groups * 288
/// bytes. The x86 variants look codes up with a byte shuffle of codebook + 128 (unsigned,
/// for vpdpbusd) and start each dot product at -128 * xsum, which is exact; the Arm ones
/// look the signed entries up with tbl and use them as int8 weights.
using Qd8Q4r16CbGemm = void(size_t m, size_t rows, size_t groups, const uint8_t* w,
                            const int8_t* codebook, const int8_t* xq, const float* xscale,
                            const int32_t* xsum, float* y, size_t y_stride);
using Qd8Q4r16CbGemmFn = Qd8Q4r16CbGemm*;

/// Scalar reference (the specification); runs anywhere.
Qd8Q4r16CbGemm qd8_q4r16cb_gemm_ref;
/// AVX2 + FMA + F16C (vpshufb lookup, vpmaddubsw of |xq| by sign-carrying entries).
Qd8Q4r16CbGemm qd8_q4r16cb_gemm_avx2;
/// AVX-VNNI + AVX2 + FMA + F16C (vpshufb lookup + 256-bit vpdpbusd).
Qd8Q4r16CbGemm qd8_q4r16cb_gemm_avxvnni;
/// AVX-512 F/BW/VL/VNNI (vpshufb lookup + vpdpbusd). Only call when the CPU has them.
Qd8Q4r16CbGemm qd8_q4r16cb_gemm_avx512vnni;
/// NEON (aarch64, or armv7 with NEON + VFPv4): tbl lookup of the entries, vmull.s8 and
/// vmlal.s8 into int16 (two products per lane), widened into int32. Only call when the CPU
/// has NEON.
Qd8Q4r16CbGemm qd8_q4r16cb_gemm_neon;
/// NEON dot product (tbl lookup + sdot; aarch64 with dotprod). Only call when the CPU has it.
Qd8Q4r16CbGemm qd8_q4r16cb_gemm_neondot;
/// Int8 matrix multiply (tbl lookup + smmla for pairs of tokens, the dotprod variant for a
/// single or last odd token; aarch64 with i8mm and dotprod). Only call when the CPU has both.
Qd8Q4r16CbGemm qd8_q4r16cb_gemm_i8mm;

}  // namespace kite::kernels

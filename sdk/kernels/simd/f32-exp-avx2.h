// Vector e^x for 8 floats, for translation units compiled with AVX2 + FMA (-mavx2 -mfma).
// Include it only from such files: the function is static inline, so every file that uses it
// gets its own copy compiled for its own ISA (no cross-ISA symbol merging by the linker).
#pragma once

#include <immintrin.h>

namespace kite::kernels {

/// e^x lane-wise. Maximum error 1 ulp over every float (measured exhaustively against the
/// correctly rounded double exp; see test/kernels/elementwise_test.cc, F32Exp). Results below
/// 2^-126 are correctly scaled denormals, x < ln(2^-150) gives +0, x > ln(FLT_MAX) gives +inf
/// (also for +/-inf), NaN propagates. Pure; no state, no MXCSR change (assumes the default
/// round-to-nearest mode and no FTZ/DAZ).
static inline __m256 ExpAvx2(__m256 x) {
  // Clamp to where the result is neither 0 nor inf after rounding; max/min return their second
  // operand when one is NaN, so NaN passes through.
  x = _mm256_min_ps(_mm256_set1_ps(89.0f), _mm256_max_ps(_mm256_set1_ps(-104.0f), x));
  // Range reduction x = n ln2 + r, |r| <= ln2/2 (Cody-Waite): ln2 = kLn2Hi + kLn2Lo with
  // kLn2Hi = float(ln2). x - n kLn2Hi is exactly representable for |n| <= 150, so the first
  // FMA is exact and only the tiny n kLn2Lo correction rounds.
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269502f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693147182f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-1.90465421e-09f), r);
  // e^r = 1 + r + r^2 (c2 + c3 r + c4 r^2 + c5 r^3 + c6 r^4): Chebyshev fit of
  // (e^r - 1 - r) / r^2 on [-ln2/2, ln2/2] (abs. error < 1e-8, well under half an ulp).
  __m256 p = _mm256_set1_ps(1.39261759e-3f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.36317334e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.16665561e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.66665778e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  // Multiply by 2^n as 2^(n/2) * 2^(n - n/2): n is in [-150, 128], so both factors are normal
  // floats built from exponent bits, the first product stays normal and the second rounds
  // once (into a denormal, or to inf on overflow).
  const __m256i ni = _mm256_cvtps_epi32(n);
  const __m256i n1 = _mm256_srai_epi32(ni, 1);
  const __m256i n2 = _mm256_sub_epi32(ni, n1);
  const __m256i bias = _mm256_set1_epi32(127);
  const __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, bias), 23));
  const __m256 s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, bias), 23));
  return _mm256_mul_ps(_mm256_mul_ps(p, s1), s2);
}

}  // namespace kite::kernels

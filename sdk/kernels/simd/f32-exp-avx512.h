// Vector e^x for 16 floats, for translation units compiled with AVX512F (+ FMA).
// Include it only from such files: the function is static inline, so every file that uses it
// gets its own copy compiled for its own ISA (no cross-ISA symbol merging by the linker).
#pragma once

#include <immintrin.h>

namespace kite::kernels {

/// e^x lane-wise; same algorithm and accuracy as ExpAvx2 (f32-exp-avx2.h): maximum error
/// 1 ulp over every float, denormal results correctly scaled, 0 / +inf outside the range,
/// NaN propagates. Pure; assumes the default MXCSR (round to nearest, no FTZ/DAZ).
static inline __m512 ExpAvx512(__m512 x) {
  // Clamp (NaN passes: max/min return their second operand when one is NaN).
  x = _mm512_min_ps(_mm512_set1_ps(89.0f), _mm512_max_ps(_mm512_set1_ps(-104.0f), x));
  // x = n ln2 + r, |r| <= ln2/2, with the exact-first-step Cody-Waite split of ln2.
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269502f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693147182f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-1.90465421e-09f), r);
  // e^r = 1 + r + r^2 (c2 + ... + c6 r^4), coefficients as in ExpAvx2.
  __m512 p = _mm512_set1_ps(1.39261759e-3f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.36317334e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.16665561e-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.66665778e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  // p * 2^n in one rounding, including denormal and overflowing results (vscalefps).
  return _mm512_scalef_ps(p, n);
}

}  // namespace kite::kernels

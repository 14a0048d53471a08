// Small AVX-512 helpers (tail masks, horizontal reductions) shared by the *-avx512 kernel
// files. Include only from files compiled with -mavx512f (+bw, vl, dq): everything here is
// static inline, so each file gets its own copy built for its own ISA.
#pragma once

#include <immintrin.h>

#include <cstddef>

namespace kite::kernels {

/// Mask with bit i set iff i < remaining (all 16 bits for remaining >= 16).
static inline __mmask16 TailMask16(size_t remaining) {
  return remaining >= 16 ? static_cast<__mmask16>(0xFFFF)
                         : static_cast<__mmask16>((1u << remaining) - 1u);
}

/// The 16 lanes of v added pairwise down to 4 lanes.
static inline __m128 Fold4Avx512(__m512 v) {
  const __m256 lo = _mm512_castps512_ps256(v);
  const __m256 hi = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1));
  const __m256 s = _mm256_add_ps(lo, hi);
  return _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
}

/// {sum(a), sum(b), sum(c), sum(d)}.
static inline __m128 ReduceAdd4Avx512(__m512 a, __m512 b, __m512 c, __m512 d) {
  return _mm_hadd_ps(_mm_hadd_ps(Fold4Avx512(a), Fold4Avx512(b)),
                     _mm_hadd_ps(Fold4Avx512(c), Fold4Avx512(d)));
}

}  // namespace kite::kernels

// The row walk and the 256-bit dot products shared by the f32-matvec and q8c-matvec x86
// variants (the weight type and its load are the only difference between their AVX2 files).
// Include only from files compiled with -mavx2 -mfma: everything here is static inline or
// instantiated with the includer's internal loader, so each file gets its own copy built for
// its own ISA.
#pragma once

#include <immintrin.h>

#include <cstddef>

#include "sdk/kernels/simd/avx2-util.h"

namespace kite::kernels {

/// y[r] for r < rows, from dot4(t, q) = {y[t], y[t + q], y[t + 2q], y[t + 3q]} (an __m128)
/// for t < q = rows / 4 and dot1(r) = y[r] for the last rows % 4 rows. The rows are split
/// into 4 contiguous quarters walked in lockstep: each stream's loads then move through
/// consecutive rows, which keeps the hardware prefetchers trained (4 adjacent rows at a time
/// measured 2.5x slower from DRAM on Zen 5).
template <class Dot4, class Dot1>
static inline void MatvecQuartersX86(size_t rows, float* y, Dot4&& dot4, Dot1&& dot1) {
  const size_t q = rows / 4;
  for (size_t t = 0; t < q; ++t) {
    alignas(16) float out[4];
    _mm_store_ps(out, dot4(t, q));
    y[t] = out[0];
    y[t + q] = out[1];
    y[t + 2 * q] = out[2];
    y[t + 3 * q] = out[3];
  }
  for (size_t r = 4 * q; r < rows; ++r) y[r] = dot1(r);
}

/// The column tail of x for Dot4Avx2 / Dot1Avx2: mask = TailMaskAvx2(cols % 8) and x = the
/// last cols % 8 floats of x, zero-padded.
struct ColumnTailAvx2 {
  __m256i mask;
  __m256 x;
};
static inline ColumnTailAvx2 ColumnTailOf(size_t cols, const float* x) {
  const size_t tail = cols % 8;
  const __m256i mask = TailMaskAvx2(tail);
  return ColumnTailAvx2{mask, _mm256_maskload_ps(x + (cols - tail), mask)};
}

// The loader L of the dot products below provides:
//   using Weight = ...;                                  // float or int8_t
//   static __m256 Load(const Weight* p);                 // 8 weights as floats
//   static __m256 LoadTail(const Weight* p, size_t count, __m256i mask);
//       // the last count (< 8) weights as floats, zero-padded; mask = TailMaskAvx2(count)

/// Dot products of x with rows w0..w3 (cols weights each), as {w0.x, w1.x, w2.x, w3.x}, 16
/// columns per step. x_tail holds the last cols % 8 floats of x, zero-padded; tail_mask is
/// TailMaskAvx2(cols % 8).
template <class L>
static inline __m128 Dot4Avx2(size_t cols, const typename L::Weight* w0,
                              const typename L::Weight* w1, const typename L::Weight* w2,
                              const typename L::Weight* w3, const float* x, __m256i tail_mask,
                              __m256 x_tail) {
  const size_t tail = cols % 8;
  const size_t body = cols - tail;
  // Two accumulators per row (even / odd 8-column block) keep 8 FMA chains in flight.
  __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
  __m256 a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
  __m256 b0 = _mm256_setzero_ps(), b1 = _mm256_setzero_ps();
  __m256 b2 = _mm256_setzero_ps(), b3 = _mm256_setzero_ps();
  size_t c = 0;
  for (; c + 16 <= body; c += 16) {
    const __m256 xa = _mm256_loadu_ps(x + c);
    const __m256 xb = _mm256_loadu_ps(x + c + 8);
    a0 = _mm256_fmadd_ps(L::Load(w0 + c), xa, a0);
    a1 = _mm256_fmadd_ps(L::Load(w1 + c), xa, a1);
    a2 = _mm256_fmadd_ps(L::Load(w2 + c), xa, a2);
    a3 = _mm256_fmadd_ps(L::Load(w3 + c), xa, a3);
    b0 = _mm256_fmadd_ps(L::Load(w0 + c + 8), xb, b0);
    b1 = _mm256_fmadd_ps(L::Load(w1 + c + 8), xb, b1);
    b2 = _mm256_fmadd_ps(L::Load(w2 + c + 8), xb, b2);
    b3 = _mm256_fmadd_ps(L::Load(w3 + c + 8), xb, b3);
  }
  if (c < body) {
    const __m256 xa = _mm256_loadu_ps(x + c);
    a0 = _mm256_fmadd_ps(L::Load(w0 + c), xa, a0);
    a1 = _mm256_fmadd_ps(L::Load(w1 + c), xa, a1);
    a2 = _mm256_fmadd_ps(L::Load(w2 + c), xa, a2);
    a3 = _mm256_fmadd_ps(L::Load(w3 + c), xa, a3);
  }
  if (tail != 0) {
    b0 = _mm256_fmadd_ps(L::LoadTail(w0 + body, tail, tail_mask), x_tail, b0);
    b1 = _mm256_fmadd_ps(L::LoadTail(w1 + body, tail, tail_mask), x_tail, b1);
    b2 = _mm256_fmadd_ps(L::LoadTail(w2 + body, tail, tail_mask), x_tail, b2);
    b3 = _mm256_fmadd_ps(L::LoadTail(w3 + body, tail, tail_mask), x_tail, b3);
  }
  return ReduceAdd4Avx2(_mm256_add_ps(a0, b0), _mm256_add_ps(a1, b1), _mm256_add_ps(a2, b2),
                        _mm256_add_ps(a3, b3));
}

/// The dot product of x with one row w0, as Dot4Avx2 computes each of its four.
template <class L>
static inline float Dot1Avx2(size_t cols, const typename L::Weight* w0, const float* x,
                             __m256i tail_mask, __m256 x_tail) {
  const size_t tail = cols % 8;
  const size_t body = cols - tail;
  __m256 a0 = _mm256_setzero_ps(), b0 = _mm256_setzero_ps();
  size_t c = 0;
  for (; c + 16 <= body; c += 16) {
    a0 = _mm256_fmadd_ps(L::Load(w0 + c), _mm256_loadu_ps(x + c), a0);
    b0 = _mm256_fmadd_ps(L::Load(w0 + c + 8), _mm256_loadu_ps(x + c + 8), b0);
  }
  if (c < body) a0 = _mm256_fmadd_ps(L::Load(w0 + c), _mm256_loadu_ps(x + c), a0);
  if (tail != 0) b0 = _mm256_fmadd_ps(L::LoadTail(w0 + body, tail, tail_mask), x_tail, b0);
  return ReduceAddAvx2(_mm256_add_ps(a0, b0));
}

}  // namespace kite::kernels

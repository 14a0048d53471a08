// f32-matvec, AVX2: 16 columns per step on 4 rows at once, masked column tail.
#include <immintrin.h>

#include <cassert>

#include "sdk/kernels/f32-matvec/f32-matvec.h"
#include "sdk/kernels/simd/avx2-util.h"

namespace kite::kernels {
namespace {

// Dot products of x with rows w0..w3, as {w0.x, w1.x, w2.x, w3.x}.
inline __m128 Dot4(size_t cols, const float* w0, const float* w1, const float* w2, const float* w3,
                   const float* x, __m256i tail_mask, __m256 x_tail) {
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
    a0 = _mm256_fmadd_ps(_mm256_loadu_ps(w0 + c), xa, a0);
    a1 = _mm256_fmadd_ps(_mm256_loadu_ps(w1 + c), xa, a1);
    a2 = _mm256_fmadd_ps(_mm256_loadu_ps(w2 + c), xa, a2);
    a3 = _mm256_fmadd_ps(_mm256_loadu_ps(w3 + c), xa, a3);
    b0 = _mm256_fmadd_ps(_mm256_loadu_ps(w0 + c + 8), xb, b0);
    b1 = _mm256_fmadd_ps(_mm256_loadu_ps(w1 + c + 8), xb, b1);
    b2 = _mm256_fmadd_ps(_mm256_loadu_ps(w2 + c + 8), xb, b2);
    b3 = _mm256_fmadd_ps(_mm256_loadu_ps(w3 + c + 8), xb, b3);
  }
  if (c < body) {
    const __m256 xa = _mm256_loadu_ps(x + c);
    a0 = _mm256_fmadd_ps(_mm256_loadu_ps(w0 + c), xa, a0);
    a1 = _mm256_fmadd_ps(_mm256_loadu_ps(w1 + c), xa, a1);
    a2 = _mm256_fmadd_ps(_mm256_loadu_ps(w2 + c), xa, a2);
    a3 = _mm256_fmadd_ps(_mm256_loadu_ps(w3 + c), xa, a3);
  }
  if (tail != 0) {
    b0 = _mm256_fmadd_ps(_mm256_maskload_ps(w0 + body, tail_mask), x_tail, b0);
    b1 = _mm256_fmadd_ps(_mm256_maskload_ps(w1 + body, tail_mask), x_tail, b1);
    b2 = _mm256_fmadd_ps(_mm256_maskload_ps(w2 + body, tail_mask), x_tail, b2);
    b3 = _mm256_fmadd_ps(_mm256_maskload_ps(w3 + body, tail_mask), x_tail, b3);
  }
  return ReduceAdd4Avx2(_mm256_add_ps(a0, b0), _mm256_add_ps(a1, b1), _mm256_add_ps(a2, b2),
                        _mm256_add_ps(a3, b3));
}

}  // namespace

void f32_matvec_avx2(size_t rows, size_t cols, const float* w, const float* x, float* y) {
  assert(w != nullptr && x != nullptr && y != nullptr);
  const size_t tail = cols % 8;
  const size_t body = cols - tail;
  const __m256i tail_mask = TailMaskAvx2(tail);
  const __m256 x_tail = _mm256_maskload_ps(x + body, tail_mask);
  // The rows are split into 4 contiguous quarters walked in lockstep (rows t, t + q, t + 2q,
  // t + 3q): each stream's loads then move through consecutive rows, which keeps the hardware
  // prefetchers trained (4 adjacent rows at a time are much slower from DRAM on Zen 5).
  const size_t q = rows / 4;
  for (size_t t = 0; t < q; ++t) {
    const float* w0 = w + t * cols;
    alignas(16) float out[4];
    _mm_store_ps(out, Dot4(cols, w0, w0 + q * cols, w0 + 2 * q * cols, w0 + 3 * q * cols, x,
                           tail_mask, x_tail));
    y[t] = out[0];
    y[t + q] = out[1];
    y[t + 2 * q] = out[2];
    y[t + 3 * q] = out[3];
  }
  for (size_t r = 4 * q; r < rows; ++r) {
    const float* w0 = w + r * cols;
    __m256 a0 = _mm256_setzero_ps(), b0 = _mm256_setzero_ps();
    size_t c = 0;
    for (; c + 16 <= body; c += 16) {
      a0 = _mm256_fmadd_ps(_mm256_loadu_ps(w0 + c), _mm256_loadu_ps(x + c), a0);
      b0 = _mm256_fmadd_ps(_mm256_loadu_ps(w0 + c + 8), _mm256_loadu_ps(x + c + 8), b0);
    }
    if (c < body) a0 = _mm256_fmadd_ps(_mm256_loadu_ps(w0 + c), _mm256_loadu_ps(x + c), a0);
    if (tail != 0) b0 = _mm256_fmadd_ps(_mm256_maskload_ps(w0 + body, tail_mask), x_tail, b0);
    y[r] = ReduceAddAvx2(_mm256_add_ps(a0, b0));
  }
}

}  // namespace kite::kernels

// f32-matvec, AVX2: 4 rows at a time, 16 columns per step, masked column tail.
#include <immintrin.h>

#include <cassert>

#include "sdk/kernels/f32-matvec/f32-matvec.h"
#include "sdk/kernels/simd/avx2-util.h"

namespace kite::kernels {

void f32_matvec_avx2(size_t rows, size_t cols, const float* w, const float* x, float* y) {
  assert(w != nullptr && x != nullptr && y != nullptr);
  const size_t tail = cols % 8;
  const size_t body = cols - tail;
  const __m256i tail_mask = TailMaskAvx2(tail);
  const __m256 x_tail = _mm256_maskload_ps(x + body, tail_mask);
  size_t r = 0;
  for (; r + 4 <= rows; r += 4) {
    const float* w0 = w + r * cols;
    const float* w1 = w0 + cols;
    const float* w2 = w1 + cols;
    const float* w3 = w2 + cols;
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
    _mm_storeu_ps(y + r, ReduceAdd4Avx2(_mm256_add_ps(a0, b0), _mm256_add_ps(a1, b1),
                                        _mm256_add_ps(a2, b2), _mm256_add_ps(a3, b3)));
  }
  for (; r < rows; ++r) {
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

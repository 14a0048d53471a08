// f32-matvec, AVX-512: 4 rows at a time, 32 columns per step, masked column tail.
#include <immintrin.h>

#include <cassert>

#include "sdk/kernels/f32-matvec/f32-matvec.h"
#include "sdk/kernels/simd/avx512-util.h"

namespace kite::kernels {

void f32_matvec_avx512(size_t rows, size_t cols, const float* w, const float* x, float* y) {
  assert(w != nullptr && x != nullptr && y != nullptr);
  size_t r = 0;
  for (; r + 4 <= rows; r += 4) {
    const float* w0 = w + r * cols;
    const float* w1 = w0 + cols;
    const float* w2 = w1 + cols;
    const float* w3 = w2 + cols;
    // Two accumulators per row (even / odd 16-column block) keep 8 FMA chains in flight.
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
    __m512 a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps();
    __m512 b0 = _mm512_setzero_ps(), b1 = _mm512_setzero_ps();
    __m512 b2 = _mm512_setzero_ps(), b3 = _mm512_setzero_ps();
    size_t c = 0;
    for (; c + 32 <= cols; c += 32) {
      const __m512 xa = _mm512_loadu_ps(x + c);
      const __m512 xb = _mm512_loadu_ps(x + c + 16);
      a0 = _mm512_fmadd_ps(_mm512_loadu_ps(w0 + c), xa, a0);
      a1 = _mm512_fmadd_ps(_mm512_loadu_ps(w1 + c), xa, a1);
      a2 = _mm512_fmadd_ps(_mm512_loadu_ps(w2 + c), xa, a2);
      a3 = _mm512_fmadd_ps(_mm512_loadu_ps(w3 + c), xa, a3);
      b0 = _mm512_fmadd_ps(_mm512_loadu_ps(w0 + c + 16), xb, b0);
      b1 = _mm512_fmadd_ps(_mm512_loadu_ps(w1 + c + 16), xb, b1);
      b2 = _mm512_fmadd_ps(_mm512_loadu_ps(w2 + c + 16), xb, b2);
      b3 = _mm512_fmadd_ps(_mm512_loadu_ps(w3 + c + 16), xb, b3);
    }
    for (; c < cols; c += 16) {
      const __mmask16 m = TailMask16(cols - c);
      const __m512 xa = _mm512_maskz_loadu_ps(m, x + c);
      a0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, w0 + c), xa, a0);
      a1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, w1 + c), xa, a1);
      a2 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, w2 + c), xa, a2);
      a3 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, w3 + c), xa, a3);
    }
    _mm_storeu_ps(y + r, ReduceAdd4Avx512(_mm512_add_ps(a0, b0), _mm512_add_ps(a1, b1),
                                          _mm512_add_ps(a2, b2), _mm512_add_ps(a3, b3)));
  }
  for (; r < rows; ++r) {
    const float* w0 = w + r * cols;
    __m512 a0 = _mm512_setzero_ps(), b0 = _mm512_setzero_ps();
    size_t c = 0;
    for (; c + 32 <= cols; c += 32) {
      a0 = _mm512_fmadd_ps(_mm512_loadu_ps(w0 + c), _mm512_loadu_ps(x + c), a0);
      b0 = _mm512_fmadd_ps(_mm512_loadu_ps(w0 + c + 16), _mm512_loadu_ps(x + c + 16), b0);
    }
    for (; c < cols; c += 16) {
      const __mmask16 m = TailMask16(cols - c);
      a0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, w0 + c), _mm512_maskz_loadu_ps(m, x + c), a0);
    }
    y[r] = _mm512_reduce_add_ps(_mm512_add_ps(a0, b0));
  }
}

}  // namespace kite::kernels

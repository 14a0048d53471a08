// softmax, AVX-512: vector max, polynomial exp with a blocked sum, then one scaling pass.
#include <immintrin.h>

#include <cassert>

#include "sdk/kernels/simd/avx512-util.h"
#include "sdk/kernels/simd/f32-exp-avx512.h"
#include "sdk/kernels/softmax/softmax.h"

namespace kite::kernels {

void softmax_avx512(size_t n, float* x) {
  assert(n > 0 && x != nullptr);
  // Seeded with x[0] and with x as the first operand (NaN in x[1..] is skipped), like ref.
  __m512 m0 = _mm512_set1_ps(x[0]), m1 = m0;
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    m0 = _mm512_max_ps(_mm512_loadu_ps(x + i), m0);
    m1 = _mm512_max_ps(_mm512_loadu_ps(x + i + 16), m1);
  }
  for (; i < n; i += 16) {
    m0 = _mm512_max_ps(_mm512_mask_loadu_ps(m0, TailMask16(n - i), x + i), m0);
  }
  const __m512 max = _mm512_set1_ps(_mm512_reduce_max_ps(_mm512_max_ps(m0, m1)));

  __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
  for (i = 0; i + 32 <= n; i += 32) {
    const __m512 e0 = ExpAvx512(_mm512_sub_ps(_mm512_loadu_ps(x + i), max));
    const __m512 e1 = ExpAvx512(_mm512_sub_ps(_mm512_loadu_ps(x + i + 16), max));
    _mm512_storeu_ps(x + i, e0);
    _mm512_storeu_ps(x + i + 16, e1);
    s0 = _mm512_add_ps(s0, e0);
    s1 = _mm512_add_ps(s1, e1);
  }
  for (; i < n; i += 16) {
    const __mmask16 m = TailMask16(n - i);
    const __m512 e = ExpAvx512(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + i), max));
    _mm512_mask_storeu_ps(x + i, m, e);
    s0 = _mm512_mask_add_ps(s0, m, s0, e);
  }
  const __m512 inv = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(_mm512_add_ps(s0, s1)));

  for (i = 0; i + 16 <= n; i += 16) {
    _mm512_storeu_ps(x + i, _mm512_mul_ps(_mm512_loadu_ps(x + i), inv));
  }
  if (i < n) {
    const __mmask16 m = TailMask16(n - i);
    _mm512_mask_storeu_ps(x + i, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + i), inv));
  }
}

}  // namespace kite::kernels

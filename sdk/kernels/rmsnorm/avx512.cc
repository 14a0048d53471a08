// rmsnorm, AVX-512: blocked sum of squares, then the reference's scaling arithmetic.
#include <immintrin.h>

#include <cassert>

#include "sdk/kernels/rmsnorm/rmsnorm.h"
#include "sdk/kernels/simd/avx512-util.h"

namespace kite::kernels {

void rmsnorm_avx512(size_t n, const float* x, const float* weight, float eps, float* out) {
  assert(x != nullptr && weight != nullptr && out != nullptr);
  __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m512 v0 = _mm512_loadu_ps(x + i);
    const __m512 v1 = _mm512_loadu_ps(x + i + 16);
    s0 = _mm512_fmadd_ps(v0, v0, s0);
    s1 = _mm512_fmadd_ps(v1, v1, s1);
  }
  for (; i < n; i += 16) {
    const __m512 v = _mm512_maskz_loadu_ps(TailMask16(n - i), x + i);
    s0 = _mm512_fmadd_ps(v, v, s0);
  }
  const float ss = _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
  const float rms = _mm_cvtss_f32(_mm_sqrt_ss(_mm_set_ss(ss / static_cast<float>(n) + eps)));
  const __m512 inv = _mm512_set1_ps(1.0f / rms);
  // out may alias x: each block is read before it is written.
  for (i = 0; i + 16 <= n; i += 16) {
    const __m512 v = _mm512_mul_ps(inv, _mm512_loadu_ps(x + i));
    _mm512_storeu_ps(out + i, _mm512_mul_ps(_mm512_loadu_ps(weight + i), v));
  }
  if (i < n) {
    const __mmask16 m = TailMask16(n - i);
    const __m512 v = _mm512_mul_ps(inv, _mm512_maskz_loadu_ps(m, x + i));
    _mm512_mask_storeu_ps(out + i, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, weight + i), v));
  }
}

}  // namespace kite::kernels

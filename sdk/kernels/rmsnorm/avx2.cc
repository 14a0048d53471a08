// rmsnorm, AVX2: blocked sum of squares, then the reference's scaling arithmetic.
#include <immintrin.h>

#include <cassert>

#include "sdk/kernels/rmsnorm/rmsnorm.h"
#include "sdk/kernels/simd/avx2-util.h"

namespace kite::kernels {

void rmsnorm_avx2(size_t n, const float* x, const float* weight, float eps, float* out) {
  assert(x != nullptr && weight != nullptr && out != nullptr);
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256 v0 = _mm256_loadu_ps(x + i);
    const __m256 v1 = _mm256_loadu_ps(x + i + 8);
    s0 = _mm256_fmadd_ps(v0, v0, s0);
    s1 = _mm256_fmadd_ps(v1, v1, s1);
  }
  for (; i < n; i += 8) {
    const __m256 v = _mm256_maskload_ps(x + i, TailMaskAvx2(n - i));
    s0 = _mm256_fmadd_ps(v, v, s0);
  }
  const float ss = ReduceAddAvx2(_mm256_add_ps(s0, s1));
  const float rms = _mm_cvtss_f32(_mm_sqrt_ss(_mm_set_ss(ss / static_cast<float>(n) + eps)));
  const __m256 inv = _mm256_set1_ps(1.0f / rms);
  // out may alias x: each block is read before it is written.
  for (i = 0; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_mul_ps(inv, _mm256_loadu_ps(x + i));
    _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_loadu_ps(weight + i), v));
  }
  if (i < n) {
    const __m256i m = TailMaskAvx2(n - i);
    const __m256 v = _mm256_mul_ps(inv, _mm256_maskload_ps(x + i, m));
    _mm256_maskstore_ps(out + i, m, _mm256_mul_ps(_mm256_maskload_ps(weight + i, m), v));
  }
}

}  // namespace kite::kernels

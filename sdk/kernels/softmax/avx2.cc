// softmax, AVX2: vector max, polynomial exp with a blocked sum, then one scaling pass.
#include <immintrin.h>

#include <cassert>

#include "sdk/kernels/simd/avx2-util.h"
#include "sdk/kernels/simd/f32-exp-avx2.h"
#include "sdk/kernels/softmax/softmax.h"

namespace kite::kernels {

void softmax_avx2(size_t n, float* x) {
  assert(n > 0 && x != nullptr);
  // Seeded with x[0] and with x as the first operand (NaN in x[1..] is skipped), like ref.
  __m256 m0 = _mm256_set1_ps(x[0]), m1 = m0;
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    m0 = _mm256_max_ps(_mm256_loadu_ps(x + i), m0);
    m1 = _mm256_max_ps(_mm256_loadu_ps(x + i + 8), m1);
  }
  for (; i < n; i += 8) {
    // Lanes past n read as 0 and are replaced by the running maximum.
    const __m256i m = TailMaskAvx2(n - i);
    const __m256 v = _mm256_blendv_ps(m0, _mm256_maskload_ps(x + i, m), _mm256_castsi256_ps(m));
    m0 = _mm256_max_ps(v, m0);
  }
  const __m256 max = _mm256_set1_ps(ReduceMaxAvx2(_mm256_max_ps(m0, m1)));

  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
  for (i = 0; i + 16 <= n; i += 16) {
    const __m256 e0 = ExpAvx2(_mm256_sub_ps(_mm256_loadu_ps(x + i), max));
    const __m256 e1 = ExpAvx2(_mm256_sub_ps(_mm256_loadu_ps(x + i + 8), max));
    _mm256_storeu_ps(x + i, e0);
    _mm256_storeu_ps(x + i + 8, e1);
    s0 = _mm256_add_ps(s0, e0);
    s1 = _mm256_add_ps(s1, e1);
  }
  for (; i < n; i += 8) {
    const __m256i m = TailMaskAvx2(n - i);
    const __m256 e = ExpAvx2(_mm256_sub_ps(_mm256_maskload_ps(x + i, m), max));
    _mm256_maskstore_ps(x + i, m, e);
    s0 = _mm256_add_ps(s0, _mm256_and_ps(e, _mm256_castsi256_ps(m)));
  }
  const __m256 inv = _mm256_set1_ps(1.0f / ReduceAddAvx2(_mm256_add_ps(s0, s1)));

  for (i = 0; i + 8 <= n; i += 8) {
    _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), inv));
  }
  if (i < n) {
    const __m256i m = TailMaskAvx2(n - i);
    _mm256_maskstore_ps(x + i, m, _mm256_mul_ps(_mm256_maskload_ps(x + i, m), inv));
  }
}

}  // namespace kite::kernels

// swiglu, AVX2: gate = gate / (1 + exp(-gate)) * up with the polynomial exp.
#include <immintrin.h>

#include <cassert>

#include "sdk/kernels/simd/avx2-util.h"
#include "sdk/kernels/simd/f32-exp-avx2.h"
#include "sdk/kernels/swiglu/swiglu.h"

namespace kite::kernels {
namespace {

inline __m256 Swiglu(__m256 g, __m256 u) {
  const __m256 e = ExpAvx2(_mm256_xor_ps(g, _mm256_set1_ps(-0.0f)));
  return _mm256_mul_ps(_mm256_div_ps(g, _mm256_add_ps(_mm256_set1_ps(1.0f), e)), u);
}

}  // namespace

void swiglu_avx2(size_t n, float* gate, const float* up) {
  assert(n == 0 || (gate != nullptr && up != nullptr));
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    _mm256_storeu_ps(gate + i, Swiglu(_mm256_loadu_ps(gate + i), _mm256_loadu_ps(up + i)));
  }
  if (i < n) {
    const __m256i m = TailMaskAvx2(n - i);
    const __m256 r = Swiglu(_mm256_maskload_ps(gate + i, m), _mm256_maskload_ps(up + i, m));
    _mm256_maskstore_ps(gate + i, m, r);
  }
}

}  // namespace kite::kernels

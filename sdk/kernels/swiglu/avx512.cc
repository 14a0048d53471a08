// swiglu, AVX-512: gate = gate / (1 + exp(-gate)) * up with the polynomial exp.
#include <immintrin.h>

#include <cassert>

#include "sdk/kernels/simd/avx512-util.h"
#include "sdk/kernels/simd/f32-exp-avx512.h"
#include "sdk/kernels/swiglu/swiglu.h"

namespace kite::kernels {
namespace {

inline __m512 Swiglu(__m512 g, __m512 u) {
  const __m512 e = ExpAvx512(_mm512_xor_ps(g, _mm512_set1_ps(-0.0f)));
  return _mm512_mul_ps(_mm512_div_ps(g, _mm512_add_ps(_mm512_set1_ps(1.0f), e)), u);
}

}  // namespace

void swiglu_avx512(size_t n, float* gate, const float* up) {
  assert(n == 0 || (gate != nullptr && up != nullptr));
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    _mm512_storeu_ps(gate + i, Swiglu(_mm512_loadu_ps(gate + i), _mm512_loadu_ps(up + i)));
  }
  if (i < n) {
    const __mmask16 m = TailMask16(n - i);
    const __m512 r = Swiglu(_mm512_maskz_loadu_ps(m, gate + i), _mm512_maskz_loadu_ps(m, up + i));
    _mm512_mask_storeu_ps(gate + i, m, r);
  }
}

}  // namespace kite::kernels

// q8-quantize, AVX-512 (F/BW/VL): 16 floats per step, masked tails; bit-identical to ref.
#include <immintrin.h>

#include <cassert>

#include "sdk/kernels/q8-quantize/q8-quantize.h"
#include "sdk/kernels/simd/avx512-util.h"

namespace kite::kernels {

void q8_quantize_avx512(size_t n, size_t group, const float* x, int8_t* q, float* scales,
                        int32_t* sums) {
  assert(group > 0 && group % 2 == 0);
  assert(n == 0 || (x != nullptr && q != nullptr && scales != nullptr && sums != nullptr));
  const __m512 abs_mask = _mm512_castsi512_ps(_mm512_set1_epi32(0x7FFFFFFF));
  const size_t groups = (n + group - 1) / group;
  for (size_t g = 0; g < groups; ++g) {
    const size_t begin = g * group;
    const size_t len = n - begin < group ? n - begin : group;
    const float* xg = x + begin;
    int8_t* qg = q + begin;

    // |x| as the first operand: vmaxps returns the second one when the first is NaN, which
    // skips NaN like the reference's fmax.
    __m512 vmax = _mm512_setzero_ps();
    for (size_t i = 0; i < len; i += 16) {
      const __m512 v = _mm512_maskz_loadu_ps(TailMask16(len - i), xg + i);
      vmax = _mm512_max_ps(_mm512_and_ps(v, abs_mask), vmax);
    }
    const float amax = _mm512_reduce_max_ps(vmax);
    const float scale = amax / 127.0f;
    const float inv = scale != 0.0f ? 1.0f / scale : 0.0f;
    scales[g] = scale;

    const __m512 vinv = _mm512_set1_ps(inv);
    __m512i vsum = _mm512_setzero_si512();
    for (size_t i = 0; i < group; i += 16) {
      const __mmask16 valid = TailMask16(len > i ? len - i : 0);
      const __m512 v = _mm512_maskz_loadu_ps(valid, xg + i);
      // vcvtps2dq rounds in the current mode like lrintf; both give INT_MIN-like garbage for
      // NaN/inf whose low byte is 0, so keeping the low byte (sign-extended) reproduces the
      // reference's int8 cast exactly, also for those.
      __m512i qi = _mm512_cvtps_epi32(_mm512_mul_ps(v, vinv));
      qi = _mm512_srai_epi32(_mm512_slli_epi32(qi, 24), 24);
      qi = _mm512_maskz_mov_epi32(valid, qi);
      vsum = _mm512_add_epi32(vsum, qi);
      _mm_mask_storeu_epi8(qg + i, TailMask16(group - i), _mm512_cvtepi32_epi8(qi));
    }
    sums[g] = _mm512_reduce_add_epi32(vsum);
  }
}

}  // namespace kite::kernels

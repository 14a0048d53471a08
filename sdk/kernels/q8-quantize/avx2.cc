// q8-quantize, AVX2: 8 floats per step, masked tails; bit-identical to ref.
#include <immintrin.h>

#include <cassert>

#include "sdk/kernels/q8-quantize/q8-quantize.h"
#include "sdk/kernels/simd/avx2-util.h"

namespace kite::kernels {

void q8_quantize_avx2(size_t n, size_t group, const float* x, int8_t* q, float* scales,
                      int32_t* sums) {
  assert(group > 0 && group % 2 == 0);
  assert(n == 0 || (x != nullptr && q != nullptr && scales != nullptr && sums != nullptr));
  const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));
  const size_t groups = (n + group - 1) / group;
  for (size_t g = 0; g < groups; ++g) {
    const size_t begin = g * group;
    const size_t len = n - begin < group ? n - begin : group;
    const float* xg = x + begin;
    int8_t* qg = q + begin;

    // |x| as the first operand: vmaxps returns the second one when the first is NaN, which
    // skips NaN like the reference's fmax.
    __m256 vmax = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
      vmax = _mm256_max_ps(_mm256_and_ps(_mm256_loadu_ps(xg + i), abs_mask), vmax);
    }
    if (i < len) {
      const __m256 v = _mm256_maskload_ps(xg + i, TailMaskAvx2(len - i));
      vmax = _mm256_max_ps(_mm256_and_ps(v, abs_mask), vmax);
    }
    const float amax = ReduceMaxAvx2(vmax);
    const float scale = amax / 127.0f;
    const float inv = scale != 0.0f ? 1.0f / scale : 0.0f;
    scales[g] = scale;

    const __m256 vinv = _mm256_set1_ps(inv);
    __m256i vsum = _mm256_setzero_si256();
    for (i = 0; i < group; i += 8) {
      const __m256i valid = TailMaskAvx2(len > i ? len - i : 0);
      const __m256 v = _mm256_maskload_ps(xg + i, valid);
      // vcvtps2dq rounds in the current mode like lrintf; both give INT_MIN-like garbage for
      // NaN/inf whose low byte is 0, so keeping the low byte (sign-extended) reproduces the
      // reference's int8 cast exactly, also for those.
      __m256i qi = _mm256_cvtps_epi32(_mm256_mul_ps(v, vinv));
      qi = _mm256_srai_epi32(_mm256_slli_epi32(qi, 24), 24);
      qi = _mm256_and_si256(qi, valid);
      vsum = _mm256_add_epi32(vsum, qi);
      // Values are in [-128, 127] now, so the saturating packs are exact.
      const __m128i q16 =
          _mm_packs_epi32(_mm256_castsi256_si128(qi), _mm256_extracti128_si256(qi, 1));
      const __m128i q8 = _mm_packs_epi16(q16, q16);
      if (i + 8 <= group) {
        _mm_storel_epi64(reinterpret_cast<__m128i*>(qg + i), q8);
      } else {
        alignas(16) int8_t tmp[16];
        _mm_store_si128(reinterpret_cast<__m128i*>(tmp), q8);
        for (size_t k = 0; k < group - i; ++k) qg[i + k] = tmp[k];
      }
    }
    sums[g] = ReduceAddEpi32Avx2(vsum);
  }
}

}  // namespace kite::kernels

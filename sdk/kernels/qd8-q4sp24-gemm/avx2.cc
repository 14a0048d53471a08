// qd8-q4sp24-gemm with AVX2: vpmaddubsw + vpmaddwd, in the 256-bit tile of avx2-tiles.h.
// Compiled with -mavx2 -mfma -mf16c.
//
// Numerics (a = xq + 128, b = q = u - 8, see avx2-tiles.h). Per int16 lane (2 products):
// |a*b pair| <= 255 * 8 * 2 = 4080 (no saturation), 4 slices <= 16320; the weight-only term
// 128 sum q (<= 8192 per lane) is computed with vpmaddubsw too and subtracted in int16 before
// one vpmaddwd widens each row's two lanes to int32.
#include <immintrin.h>

#include "sdk/kernels/qd8-q4sp24-gemm/avx2-tiles.h"
#include "sdk/kernels/qd8-q4sp24-gemm/driver.h"
#include "sdk/kernels/qd8-q4sp24-gemm/qd8-q4sp24-gemm.h"

namespace kite::kernels {
namespace {

struct Avx2Dot {
  // Tokens sharing one pass over a block row (prefill). Each token keeps two accumulators
  // (one per half).
  static constexpr size_t kTokenTile = 4;

  // 128 * sum q per int16 lane.
  static __m256i WeightTerm(__m256i bias, const __m256i (&q)[4]) {
    return _mm256_add_epi16(
        _mm256_add_epi16(_mm256_maddubs_epi16(bias, q[0]), _mm256_maddubs_epi16(bias, q[1])),
        _mm256_add_epi16(_mm256_maddubs_epi16(bias, q[2]), _mm256_maddubs_epi16(bias, q[3])));
  }
  static __m256 Dot(__m256i c, const __m256i (&a)[4], const __m256i (&q)[4]) {
    const __m256i s01 =
        _mm256_add_epi16(_mm256_maddubs_epi16(a[0], q[0]), _mm256_maddubs_epi16(a[1], q[1]));
    const __m256i s23 =
        _mm256_add_epi16(_mm256_maddubs_epi16(a[2], q[2]), _mm256_maddubs_epi16(a[3], q[3]));
    const __m256i s16 = _mm256_sub_epi16(_mm256_add_epi16(s01, s23), c);
    return _mm256_cvtepi32_ps(_mm256_madd_epi16(s16, _mm256_set1_epi16(1)));
  }
};

}  // namespace

void qd8_q4sp24_gemm_avx2(size_t m, size_t rows, size_t groups, const uint8_t* w, const int8_t* xq,
                         const float* xscale, float* y, size_t y_stride) {
  qd8_q4sp24::Gemm<qd8_q4sp24::Ymm<Avx2Dot>>(m, rows, groups, w, xq, xscale, y, y_stride);
}

}  // namespace kite::kernels

// qd8-q4sp24-gemm with AVX-VNNI: 256-bit vpdpbusd doing the multiply-adds, in the 256-bit tile
// of avx2-tiles.h. Compiled with -mavx2 -mavxvnni -mfma -mf16c.
//
// Numerics (a = xq + 128, b = q = u - 8, see avx2-tiles.h). The weight-only term 128 sum q is
// computed once per half block (vpdpbusd with 128) and subtracted from the starting value,
// shared by all tokens. |sum q*xq| <= 16 * 8 * 128 < 2^22, so the 1.5 * 2^23 float trick
// converts exactly.
#include <immintrin.h>

#include "sdk/kernels/qd8-q4sp24-gemm/avx2-tiles.h"
#include "sdk/kernels/qd8-q4sp24-gemm/driver.h"
#include "sdk/kernels/qd8-q4sp24-gemm/qd8-q4sp24-gemm.h"
#include "sdk/kernels/simd/avx2-util.h"

namespace kite::kernels {
namespace {

// Dot products start from kF32MagicBits (simd/avx2-util.h) minus the weight-only term: the
// final int32 bits, read as a float, are exactly 1.5 * 2^23 + dot.

struct AvxVnniDot {
  // Tokens sharing one pass over a block row (prefill). Each token keeps two accumulators
  // (one per half).
  static constexpr size_t kTokenTile = 4;

  // The starting value: magic bits - 128 * sum q per row.
  static __m256i WeightTerm(__m256i bias, const __m256i (&q)[4]) {
    __m256i c = _mm256_dpbusd_avx_epi32(_mm256_setzero_si256(), bias, q[0]);
    c = _mm256_dpbusd_avx_epi32(c, bias, q[1]);
    c = _mm256_dpbusd_avx_epi32(c, bias, q[2]);
    c = _mm256_dpbusd_avx_epi32(c, bias, q[3]);
    return _mm256_sub_epi32(_mm256_set1_epi32(kF32MagicBits), c);
  }
  static __m256 Dot(__m256i start, const __m256i (&a)[4], const __m256i (&q)[4]) {
    __m256i s = _mm256_dpbusd_avx_epi32(start, a[0], q[0]);
    s = _mm256_dpbusd_avx_epi32(s, a[1], q[1]);
    s = _mm256_dpbusd_avx_epi32(s, a[2], q[2]);
    s = _mm256_dpbusd_avx_epi32(s, a[3], q[3]);
    return _mm256_sub_ps(_mm256_castsi256_ps(s), _mm256_set1_ps(kF32Magic));
  }
};

}  // namespace

void qd8_q4sp24_gemm_avxvnni(size_t m, size_t rows, size_t groups, const uint8_t* w,
                            const int8_t* xq, const float* xscale, float* y, size_t y_stride) {
  qd8_q4sp24::Gemm<qd8_q4sp24::Ymm<AvxVnniDot>>(m, rows, groups, w, xq, xscale, y, y_stride);
}

}  // namespace kite::kernels

// q8c-matvec, AVX2: int8 -> int32 -> f32 (vpmovsxbd + vcvtdq2ps) and FMA, 16 columns per
// step on 4 rows at once, zero-padded column tail (the shared walk and dot products of
// simd/matvec-avx2.h), then the row scales.
#include <immintrin.h>

#include <cassert>
#include <cstdint>

#include "sdk/kernels/q8c-matvec/q8c-matvec.h"
#include "sdk/kernels/simd/avx2-util.h"
#include "sdk/kernels/simd/matvec-avx2.h"

namespace kite::kernels {
namespace {

struct LoadQ8 {
  using Weight = int8_t;
  static __m256 Load(const int8_t* p) {
    const __m128i bytes = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p));
    return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(bytes));
  }
  static __m256 LoadTail(const int8_t* p, size_t count, __m256i /*mask*/) {
    alignas(8) int8_t tmp[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (size_t k = 0; k < count; ++k) tmp[k] = p[k];
    return Load(tmp);
  }
};

}  // namespace

void q8c_matvec_avx2(size_t rows, size_t cols, const int8_t* w, const float* scales, const float* x,
                     float* y) {
  assert(w != nullptr && scales != nullptr && x != nullptr && y != nullptr);
  const ColumnTailAvx2 ct = ColumnTailOf(cols, x);
  MatvecQuartersX86(
      rows, y,
      [&](size_t t, size_t q) {
        const int8_t* w0 = w + t * cols;
        const __m128 dot = Dot4Avx2<LoadQ8>(cols, w0, w0 + q * cols, w0 + 2 * q * cols,
                                            w0 + 3 * q * cols, x, ct.mask, ct.x);
        return _mm_mul_ps(dot, _mm_setr_ps(scales[t], scales[t + q], scales[t + 2 * q],
                                           scales[t + 3 * q]));
      },
      [&](size_t r) {
        return Dot1Avx2<LoadQ8>(cols, w + r * cols, x, ct.mask, ct.x) * scales[r];
      });
}

}  // namespace kite::kernels

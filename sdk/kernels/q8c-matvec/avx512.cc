// q8c-matvec, AVX-512: int8 -> int32 -> f32 (vpmovsxbd + vcvtdq2ps) and FMA, 32 columns per
// step on 4 rows at once, masked column tail (the dot products of simd/matvec-masked.h), then
// the row scales.
#include <immintrin.h>

#include <cassert>

#include "sdk/kernels/q8c-matvec/q8c-matvec.h"
#include "sdk/kernels/simd/lanes.h"
#include "sdk/kernels/simd/matvec-avx2.h"
#include "sdk/kernels/simd/matvec-masked.h"

namespace kite::kernels {
namespace {

// int8 weights widened to f32 in 512-bit vectors (the lane type of simd/matvec-masked.h).
struct Q8Lanes512 : F32x16 {
  using Weight = int8_t;
  static Vec LoadW(const int8_t* p) {
    const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(bytes));
  }
  static Vec LoadWMasked(Tail m, const int8_t* p) {
    return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(m, p)));
  }
};

}  // namespace

void q8c_matvec_avx512(size_t rows, size_t cols, const int8_t* w, const float* scales,
                       const float* x, float* y) {
  assert(w != nullptr && scales != nullptr && x != nullptr && y != nullptr);
  MatvecQuartersX86(
      rows, y,
      [&](size_t t, size_t q) {
        const int8_t* w0 = w + t * cols;
        const __m128 dot = Dot4Masked<Q8Lanes512>(cols, w0, w0 + q * cols, w0 + 2 * q * cols,
                                                  w0 + 3 * q * cols, x);
        return _mm_mul_ps(dot, _mm_setr_ps(scales[t], scales[t + q], scales[t + 2 * q],
                                           scales[t + 3 * q]));
      },
      [&](size_t r) { return Dot1Masked<Q8Lanes512>(cols, w + r * cols, x) * scales[r]; });
}

}  // namespace kite::kernels

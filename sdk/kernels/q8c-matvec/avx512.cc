// q8c-matvec, AVX-512: int8 -> int32 -> f32 (vpmovsxbd + vcvtdq2ps) and FMA, 32 columns per
// step on 4 rows at once, masked column tail.
#include <immintrin.h>

#include <cassert>

#include "sdk/kernels/q8c-matvec/q8c-matvec.h"
#include "sdk/kernels/simd/avx512-util.h"
#include "sdk/kernels/simd/matvec-avx2.h"

namespace kite::kernels {
namespace {

inline __m512 LoadQ8(const int8_t* p) {
  const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(bytes));
}

inline __m512 LoadQ8Masked(__mmask16 m, const int8_t* p) {
  return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(m, p)));
}

// Dot products of x with rows w0..w3, as {w0.x, w1.x, w2.x, w3.x}.
inline __m128 Dot4(size_t cols, const int8_t* w0, const int8_t* w1, const int8_t* w2,
                   const int8_t* w3, const float* x) {
  // Two accumulators per row (even / odd 16-column block): 8 FMA chains in flight.
  __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
  __m512 a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps();
  __m512 b0 = _mm512_setzero_ps(), b1 = _mm512_setzero_ps();
  __m512 b2 = _mm512_setzero_ps(), b3 = _mm512_setzero_ps();
  size_t c = 0;
  for (; c + 32 <= cols; c += 32) {
    const __m512 xa = _mm512_loadu_ps(x + c);
    const __m512 xb = _mm512_loadu_ps(x + c + 16);
    a0 = _mm512_fmadd_ps(LoadQ8(w0 + c), xa, a0);
    a1 = _mm512_fmadd_ps(LoadQ8(w1 + c), xa, a1);
    a2 = _mm512_fmadd_ps(LoadQ8(w2 + c), xa, a2);
    a3 = _mm512_fmadd_ps(LoadQ8(w3 + c), xa, a3);
    b0 = _mm512_fmadd_ps(LoadQ8(w0 + c + 16), xb, b0);
    b1 = _mm512_fmadd_ps(LoadQ8(w1 + c + 16), xb, b1);
    b2 = _mm512_fmadd_ps(LoadQ8(w2 + c + 16), xb, b2);
    b3 = _mm512_fmadd_ps(LoadQ8(w3 + c + 16), xb, b3);
  }
  for (; c < cols; c += 16) {
    const __mmask16 m = TailMask16(cols - c);
    const __m512 xa = _mm512_maskz_loadu_ps(m, x + c);
    a0 = _mm512_fmadd_ps(LoadQ8Masked(m, w0 + c), xa, a0);
    a1 = _mm512_fmadd_ps(LoadQ8Masked(m, w1 + c), xa, a1);
    a2 = _mm512_fmadd_ps(LoadQ8Masked(m, w2 + c), xa, a2);
    a3 = _mm512_fmadd_ps(LoadQ8Masked(m, w3 + c), xa, a3);
  }
  return ReduceAdd4Avx512(_mm512_add_ps(a0, b0), _mm512_add_ps(a1, b1), _mm512_add_ps(a2, b2),
                          _mm512_add_ps(a3, b3));
}

// The dot product of x with one row w0, as Dot4 computes each of its four.
inline float Dot1(size_t cols, const int8_t* w0, const float* x) {
  __m512 a0 = _mm512_setzero_ps(), b0 = _mm512_setzero_ps();
  size_t c = 0;
  for (; c + 32 <= cols; c += 32) {
    a0 = _mm512_fmadd_ps(LoadQ8(w0 + c), _mm512_loadu_ps(x + c), a0);
    b0 = _mm512_fmadd_ps(LoadQ8(w0 + c + 16), _mm512_loadu_ps(x + c + 16), b0);
  }
  for (; c < cols; c += 16) {
    const __mmask16 m = TailMask16(cols - c);
    a0 = _mm512_fmadd_ps(LoadQ8Masked(m, w0 + c), _mm512_maskz_loadu_ps(m, x + c), a0);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(a0, b0));
}

}  // namespace

void q8c_matvec_avx512(size_t rows, size_t cols, const int8_t* w, const float* scales,
                       const float* x, float* y) {
  assert(w != nullptr && scales != nullptr && x != nullptr && y != nullptr);
  MatvecQuartersX86(
      rows, y,
      [&](size_t t, size_t q) {
        const int8_t* w0 = w + t * cols;
        const __m128 dot = Dot4(cols, w0, w0 + q * cols, w0 + 2 * q * cols, w0 + 3 * q * cols, x);
        return _mm_mul_ps(dot, _mm_setr_ps(scales[t], scales[t + q], scales[t + 2 * q],
                                           scales[t + 3 * q]));
      },
      [&](size_t r) { return Dot1(cols, w + r * cols, x) * scales[r]; });
}

}  // namespace kite::kernels

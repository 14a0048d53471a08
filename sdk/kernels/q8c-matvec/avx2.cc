// q8c-matvec, AVX2: 4 rows at a time, 16 columns per step (int8 -> int32 -> f32, FMA).
// The weights are streamed once; this is bound by memory bandwidth for large matrices.
#include <immintrin.h>

#include <cassert>

#include "sdk/kernels/q8c-matvec/q8c-matvec.h"
#include "sdk/kernels/simd/avx2-util.h"

namespace kite::kernels {
namespace {

inline __m256 LoadQ8(const int8_t* p) {
  return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
}

// The last `count` (< 8) int8 of a row, zero-padded to 8 lanes.
inline __m256 LoadQ8Tail(const int8_t* p, size_t count) {
  alignas(8) int8_t tmp[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  for (size_t k = 0; k < count; ++k) tmp[k] = p[k];
  return LoadQ8(tmp);
}

}  // namespace

void q8c_matvec_avx2(size_t rows, size_t cols, const int8_t* w, const float* scales,
                     const float* x, float* y) {
  assert(w != nullptr && scales != nullptr && x != nullptr && y != nullptr);
  const size_t tail = cols % 8;
  const size_t body = cols - tail;
  const __m256 x_tail = _mm256_maskload_ps(x + body, TailMaskAvx2(tail));
  size_t r = 0;
  for (; r + 4 <= rows; r += 4) {
    const int8_t* w0 = w + r * cols;
    const int8_t* w1 = w0 + cols;
    const int8_t* w2 = w1 + cols;
    const int8_t* w3 = w2 + cols;
    // Two accumulators per row (even / odd 8-column block) keep 8 FMA chains in flight.
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    __m256 a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
    __m256 b0 = _mm256_setzero_ps(), b1 = _mm256_setzero_ps();
    __m256 b2 = _mm256_setzero_ps(), b3 = _mm256_setzero_ps();
    size_t c = 0;
    for (; c + 16 <= body; c += 16) {
      const __m256 xa = _mm256_loadu_ps(x + c);
      const __m256 xb = _mm256_loadu_ps(x + c + 8);
      a0 = _mm256_fmadd_ps(LoadQ8(w0 + c), xa, a0);
      a1 = _mm256_fmadd_ps(LoadQ8(w1 + c), xa, a1);
      a2 = _mm256_fmadd_ps(LoadQ8(w2 + c), xa, a2);
      a3 = _mm256_fmadd_ps(LoadQ8(w3 + c), xa, a3);
      b0 = _mm256_fmadd_ps(LoadQ8(w0 + c + 8), xb, b0);
      b1 = _mm256_fmadd_ps(LoadQ8(w1 + c + 8), xb, b1);
      b2 = _mm256_fmadd_ps(LoadQ8(w2 + c + 8), xb, b2);
      b3 = _mm256_fmadd_ps(LoadQ8(w3 + c + 8), xb, b3);
    }
    if (c < body) {
      const __m256 xa = _mm256_loadu_ps(x + c);
      a0 = _mm256_fmadd_ps(LoadQ8(w0 + c), xa, a0);
      a1 = _mm256_fmadd_ps(LoadQ8(w1 + c), xa, a1);
      a2 = _mm256_fmadd_ps(LoadQ8(w2 + c), xa, a2);
      a3 = _mm256_fmadd_ps(LoadQ8(w3 + c), xa, a3);
    }
    if (tail != 0) {
      b0 = _mm256_fmadd_ps(LoadQ8Tail(w0 + body, tail), x_tail, b0);
      b1 = _mm256_fmadd_ps(LoadQ8Tail(w1 + body, tail), x_tail, b1);
      b2 = _mm256_fmadd_ps(LoadQ8Tail(w2 + body, tail), x_tail, b2);
      b3 = _mm256_fmadd_ps(LoadQ8Tail(w3 + body, tail), x_tail, b3);
    }
    const __m128 sum = ReduceAdd4Avx2(_mm256_add_ps(a0, b0), _mm256_add_ps(a1, b1),
                                      _mm256_add_ps(a2, b2), _mm256_add_ps(a3, b3));
    _mm_storeu_ps(y + r, _mm_mul_ps(sum, _mm_loadu_ps(scales + r)));
  }
  for (; r < rows; ++r) {
    const int8_t* w0 = w + r * cols;
    __m256 a0 = _mm256_setzero_ps(), b0 = _mm256_setzero_ps();
    size_t c = 0;
    for (; c + 16 <= body; c += 16) {
      a0 = _mm256_fmadd_ps(LoadQ8(w0 + c), _mm256_loadu_ps(x + c), a0);
      b0 = _mm256_fmadd_ps(LoadQ8(w0 + c + 8), _mm256_loadu_ps(x + c + 8), b0);
    }
    if (c < body) a0 = _mm256_fmadd_ps(LoadQ8(w0 + c), _mm256_loadu_ps(x + c), a0);
    if (tail != 0) b0 = _mm256_fmadd_ps(LoadQ8Tail(w0 + body, tail), x_tail, b0);
    y[r] = ReduceAddAvx2(_mm256_add_ps(a0, b0)) * scales[r];
  }
}

}  // namespace kite::kernels

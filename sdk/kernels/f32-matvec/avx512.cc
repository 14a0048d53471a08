// f32-matvec, AVX-512 (VL): 16 columns per step on 4 rows at once, in 256-bit vectors with
// AVX-512VL masked column tails. 256-bit loads are deliberate: on Zen 5 the same loop with
// 512-bit loads streams 1.6x slower from DRAM / L3 (measured 20 vs 32 GB/s at 256 MB), and
// this kernel is bound by how fast the weights stream in.
#include <immintrin.h>

#include <cassert>

#include "sdk/kernels/f32-matvec/f32-matvec.h"
#include "sdk/kernels/simd/avx2-util.h"
#include "sdk/kernels/simd/matvec-avx2.h"

namespace kite::kernels {
namespace {

inline __mmask8 TailMask8(size_t remaining) {
  return remaining >= 8 ? static_cast<__mmask8>(0xFF)
                        : static_cast<__mmask8>((1u << remaining) - 1u);
}

// Dot products of x with rows w0..w3, as {w0.x, w1.x, w2.x, w3.x}.
inline __m128 Dot4(size_t cols, const float* w0, const float* w1, const float* w2, const float* w3,
                   const float* x) {
  // Two accumulators per row (even / odd 8-column block) keep 8 FMA chains in flight.
  __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
  __m256 a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
  __m256 b0 = _mm256_setzero_ps(), b1 = _mm256_setzero_ps();
  __m256 b2 = _mm256_setzero_ps(), b3 = _mm256_setzero_ps();
  size_t c = 0;
  for (; c + 16 <= cols; c += 16) {
    const __m256 xa = _mm256_loadu_ps(x + c);
    const __m256 xb = _mm256_loadu_ps(x + c + 8);
    a0 = _mm256_fmadd_ps(_mm256_loadu_ps(w0 + c), xa, a0);
    a1 = _mm256_fmadd_ps(_mm256_loadu_ps(w1 + c), xa, a1);
    a2 = _mm256_fmadd_ps(_mm256_loadu_ps(w2 + c), xa, a2);
    a3 = _mm256_fmadd_ps(_mm256_loadu_ps(w3 + c), xa, a3);
    b0 = _mm256_fmadd_ps(_mm256_loadu_ps(w0 + c + 8), xb, b0);
    b1 = _mm256_fmadd_ps(_mm256_loadu_ps(w1 + c + 8), xb, b1);
    b2 = _mm256_fmadd_ps(_mm256_loadu_ps(w2 + c + 8), xb, b2);
    b3 = _mm256_fmadd_ps(_mm256_loadu_ps(w3 + c + 8), xb, b3);
  }
  for (; c < cols; c += 8) {
    const __mmask8 m = TailMask8(cols - c);
    const __m256 xa = _mm256_maskz_loadu_ps(m, x + c);
    a0 = _mm256_fmadd_ps(_mm256_maskz_loadu_ps(m, w0 + c), xa, a0);
    a1 = _mm256_fmadd_ps(_mm256_maskz_loadu_ps(m, w1 + c), xa, a1);
    a2 = _mm256_fmadd_ps(_mm256_maskz_loadu_ps(m, w2 + c), xa, a2);
    a3 = _mm256_fmadd_ps(_mm256_maskz_loadu_ps(m, w3 + c), xa, a3);
  }
  return ReduceAdd4Avx2(_mm256_add_ps(a0, b0), _mm256_add_ps(a1, b1), _mm256_add_ps(a2, b2),
                        _mm256_add_ps(a3, b3));
}

// The dot product of x with one row w0, as Dot4 computes each of its four.
inline float Dot1(size_t cols, const float* w0, const float* x) {
  __m256 a0 = _mm256_setzero_ps(), b0 = _mm256_setzero_ps();
  size_t c = 0;
  for (; c + 16 <= cols; c += 16) {
    a0 = _mm256_fmadd_ps(_mm256_loadu_ps(w0 + c), _mm256_loadu_ps(x + c), a0);
    b0 = _mm256_fmadd_ps(_mm256_loadu_ps(w0 + c + 8), _mm256_loadu_ps(x + c + 8), b0);
  }
  for (; c < cols; c += 8) {
    const __mmask8 m = TailMask8(cols - c);
    a0 = _mm256_fmadd_ps(_mm256_maskz_loadu_ps(m, w0 + c), _mm256_maskz_loadu_ps(m, x + c), a0);
  }
  return ReduceAddAvx2(_mm256_add_ps(a0, b0));
}

}  // namespace

void f32_matvec_avx512(size_t rows, size_t cols, const float* w, const float* x, float* y) {
  assert(w != nullptr && x != nullptr && y != nullptr);
  MatvecQuartersX86(
      rows, y,
      [&](size_t t, size_t q) {
        const float* w0 = w + t * cols;
        return Dot4(cols, w0, w0 + q * cols, w0 + 2 * q * cols, w0 + 3 * q * cols, x);
      },
      [&](size_t r) { return Dot1(cols, w + r * cols, x); });
}

}  // namespace kite::kernels

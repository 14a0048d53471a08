// The 256-bit tile of qd8-q4sp24-gemm, shared by avx2.cc (vpmaddubsw) and avxvnni.cc
// (vpdpbusd): vpshufb gathers, per row, the activations the kept values multiply (positions
// are the shuffle indices). A ymm register holds 8 rows (one dword lane each), so a 16-row
// block is two 8-row halves, each reading the 32-byte half of every 64-byte slice; both halves
// are done in the same pass so every block is read once. The ISA file supplies the integer
// dot step as a policy (see Ymm below). Include only from files compiled with -mavx2 -mfma
// -mf16c: everything here is instantiated with the includer's internal policy, so each file
// gets its own copy built for its own ISA.
//
// Both operands of the byte products are signed, so the activations enter biased to
// a = xq + 128 (xq ^ 0x80, exact for -128 too) and the weights as b = q = u - 8 in [-8, 7]:
// sum a*b = sum q*xq + 128 sum q, whose weight-only term the dot step removes.
#pragma once

#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "sdk/kernels/qd8-q4sp24-gemm/driver.h"
#include "sdk/kernels/qd8-q4sp24-gemm/qd8-q4sp24-gemm.h"
#include "sdk/kernels/simd/avx2-util.h"

namespace kite::kernels::qd8_q4sp24 {

// The dot-step policy D of Ymm<D> provides:
//   static constexpr size_t kTokenTile;   // tokens per prefill tile
//   static __m256i WeightTerm(__m256i bias, const __m256i (&q)[4]);
//       // what Dot needs of 128 sum q for the 4 weight slices q (computed once per half
//       // block, shared by all tokens)
//   static __m256 Dot(__m256i weight_term, const __m256i (&a)[4], const __m256i (&q)[4]);
//       // the 8 rows' sum q*xq as floats, from the gathered biased activations a[s] of slice s

// Policy of qd8_q4sp24::Gemm built from the dot step D.
template <class D>
struct Ymm {
  static constexpr size_t kTokenTile = D::kTokenTile;

  // y[t][r] for T tokens and the rows of one block (n of them stored).
  template <size_t T>
  static void Tile(size_t groups, const uint8_t* wb, const int8_t* xq, const float* xscale,
                   float* y, size_t y_stride, size_t n, const uint8_t* next) {
    const __m256i lo_mask = _mm256_set1_epi8(0x0F);
    const __m256i eight = _mm256_set1_epi8(8);
    const __m256i bias = _mm256_set1_epi8(static_cast<char>(0x80));
    const __m256i pos_mask = _mm256_set1_epi8(0x03);
    // Shuffle index offsets (see avx512vnni.cc): 8 (s % 2) + 4 (j / 2) for byte j of slice s.
    const __m256i off_even = _mm256_set1_epi32(0x04040000);
    const __m256i off_odd = _mm256_set1_epi32(0x0C0C0808);
    const size_t x_stride = groups * kQ4SP24GroupSize;
    __m256 acc[T][2];
    for (size_t t = 0; t < T; ++t) acc[t][0] = acc[t][1] = _mm256_setzero_ps();

    for (size_t g = 0; g < groups; ++g) {
      // Group g is sub-block g % 2 of column block g / 2, whose scales it shares.
      const uint8_t* blk = wb + g / 2 * kQ4SP24BlockBytes;
      const uint8_t* sub = blk + g % 2 * kQ4SP24SubBlockBytes;
      if (next != nullptr && g % 2 == 0) {
        PrefetchBytesX86(next + g / 2 * kQ4SP24BlockBytes, kQ4SP24BlockBytes);
      }
#pragma GCC unroll 2
      for (size_t h = 0; h < 2; ++h) {
        const __m256i n0 = Load256(sub + h * 32);
        const __m256i n1 = Load256(sub + 64 + h * 32);
        const __m256i pos = Load256(sub + kQ4SP24PositionsOffset + h * 32);
        const __m256i q[4] = {
            _mm256_sub_epi8(_mm256_and_si256(n0, lo_mask), eight),
            _mm256_sub_epi8(_mm256_and_si256(n1, lo_mask), eight),
            _mm256_sub_epi8(_mm256_and_si256(_mm256_srli_epi16(n0, 4), lo_mask), eight),
            _mm256_sub_epi8(_mm256_and_si256(_mm256_srli_epi16(n1, 4), lo_mask), eight)};
        const __m256i i0 = _mm256_or_si256(_mm256_and_si256(pos, pos_mask), off_even);
        const __m256i i1 =
            _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(pos, 2), pos_mask), off_odd);
        const __m256i i2 =
            _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(pos, 4), pos_mask), off_even);
        const __m256i i3 =
            _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(pos, 6), pos_mask), off_odd);
        const __m256i wt = D::WeightTerm(bias, q);
        const __m256 d = _mm256_cvtph_ps(
            _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + kQ4SP24ScalesOffset + h * 16)));
#pragma GCC unroll 4
        for (size_t t = 0; t < T; ++t) {
          const int8_t* x = xq + t * x_stride + g * kQ4SP24GroupSize;
          const __m256i xlo = Table(x, bias);
          const __m256i xhi = Table(x + 16, bias);
          const __m256i a[4] = {_mm256_shuffle_epi8(xlo, i0), _mm256_shuffle_epi8(xlo, i1),
                                _mm256_shuffle_epi8(xhi, i2), _mm256_shuffle_epi8(xhi, i3)};
          const __m256 dot = D::Dot(wt, a, q);
          const __m256 sx = _mm256_mul_ps(dot, _mm256_set1_ps(xscale[t * groups + g]));
          acc[t][h] = _mm256_fmadd_ps(sx, d, acc[t][h]);
        }
      }
    }
    for (size_t t = 0; t < T; ++t) {
      StoreLanesAvx2(y + t * y_stride, acc[t][0], n < 8 ? n : 8);
      if (n > 8) StoreLanesAvx2(y + t * y_stride + 8, acc[t][1], n - 8);
    }
  }

 private:
  static __m256i Load256(const uint8_t* p) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  }
  // The 16 activations at x, biased by 128, in both 128-bit lanes.
  static __m256i Table(const int8_t* x, __m256i bias) {
    return _mm256_xor_si256(
        _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x))), bias);
  }
};

}  // namespace kite::kernels::qd8_q4sp24

// qd8-q3r16-gemm with AVX2: one dword lane per row, a 16-row block in two ymm halves (rows
// 0..7 and 8..15). Each column quad's codes come from the low-bit and high-bit slices with
// shifts and masks (Codes); vpmaddubsw multiplies them (unsigned, <= 7) by 4 activation bytes
// broadcast to every lane into int16 pairs (|.| <= 2 * 7 * 128), the 8 quads of a group add
// up in int16 (|.| <= 14336), and one vpmaddwd widens each row's sum to int32.
// Compiled with -mavx2 -mfma -mf16c.
#include <immintrin.h>

#include <cassert>
#include <cstring>

#include "sdk/kernels/qd8-q3r16-gemm/driver.h"
#include "sdk/kernels/qd8-q3r16-gemm/qd8-q3r16-gemm.h"
#include "sdk/kernels/simd/avx2-util.h"
#include "sdk/kernels/simd/touch.h"

namespace kite::kernels {
namespace {

// Tokens sharing one pass over a row block's weights: 2 halves x 4 tokens of int16 sums
// plus 2 x 4 f32 accumulators and the codes fit the 16 ymm registers.
constexpr size_t kTile = 4;

// The codes of column quad k = 4h + q of 8 rows, from that half's low-bit slice h and
// high-bit slice: (low >> 2q) & 3 | (bit k of high, moved to bit 2). A 16-bit shift by at
// most 6 moves no neighbouring byte's bit into a byte's bits 0..2.
inline __m256i Codes(__m256i low, __m256i high, size_t q, size_t k) {
  const __m256i lb = q == 0 ? low : _mm256_srli_epi16(low, static_cast<int>(2 * q));
  const __m256i hb = k == 2  ? high
                     : k > 2 ? _mm256_srli_epi16(high, static_cast<int>(k - 2))
                             : _mm256_slli_epi16(high, static_cast<int>(2 - k));
  return _mm256_or_si256(_mm256_and_si256(lb, _mm256_set1_epi8(0x03)),
                         _mm256_and_si256(hb, _mm256_set1_epi8(0x04)));
}

// y[t][r] for T tokens and the first n rows (1 <= n <= 16) of one block row; when `next`
// is not null, also prefetches that block row.
template <size_t T, size_t S>
void BlockTile(size_t groups, const uint8_t* wb, const int8_t* xq, const float* xscale,
               const int32_t* xsum, float* y, size_t y_stride, size_t n, const uint8_t* next) {
  const __m256i ones16 = _mm256_set1_epi16(1);
  const size_t x_stride = groups * kQ4R16GroupSize;
  __m256 acc[T][2];
  for (size_t t = 0; t < T; ++t) acc[t][0] = acc[t][1] = _mm256_setzero_ps();
  for (size_t g = 0; g < groups; ++g) {
    const uint8_t* blk = qd8_q3r16::CodesOf<S>(wb, g);
    const uint8_t* scales = qd8_q3r16::ScalesOf<S>(wb, g);
    constexpr size_t kGroupBytes = qd8_q3r16::kBytesPerGroup<S>;
    if (next != nullptr) PrefetchBytesX86(next + g * kGroupBytes, kGroupBytes);
    const int8_t* x0 = xq + g * kQ4R16GroupSize;
    for (size_t half = 0; half < 2; ++half) {
      __m256i s[T];
      for (size_t t = 0; t < T; ++t) s[t] = _mm256_setzero_si256();
      const __m256i high = _mm256_loadu_si256(
          reinterpret_cast<const __m256i*>(blk + kQ3R16HighBitsOffset + half * 32));
      // Quad k = 4h + q: low 2 bits at bits [2q, 2q + 2) of slice h, high bit at bit k.
      for (size_t h = 0; h < 2; ++h) {
        const __m256i low =
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + h * 64 + half * 32));
        for (size_t q = 0; q < 4; ++q) {
          const size_t k = 4 * h + q;
          const __m256i u = Codes(low, high, q, k);
          for (size_t t = 0; t < T; ++t) {
            s[t] = _mm256_add_epi16(
                s[t], _mm256_maddubs_epi16(u, Broadcast4Avx2(x0 + t * x_stride + 4 * k)));
          }
        }
      }
      const __m256 d = _mm256_cvtph_ps(
          _mm_loadu_si128(reinterpret_cast<const __m128i*>(scales + half * 16)));
      for (size_t t = 0; t < T; ++t) {
        // sum (u - 4) x = sum u x - 4 xsum, exact in int32.
        const __m256i dot = _mm256_sub_epi32(_mm256_madd_epi16(s[t], ones16),
                                             _mm256_set1_epi32(4 * xsum[t * groups + g]));
        const __m256 sx = _mm256_mul_ps(_mm256_cvtepi32_ps(dot),
                                        _mm256_set1_ps(xscale[t * groups + g]));
        acc[t][half] = _mm256_fmadd_ps(sx, d, acc[t][half]);
      }
    }
  }
  for (size_t t = 0; t < T; ++t) {
    StoreLanesAvx2(y + t * y_stride, acc[t][0], n < 8 ? n : 8);
    if (n > 8) StoreLanesAvx2(y + t * y_stride + 8, acc[t][1], n - 8);
  }
}

// One token (decode): BlockTile<1>'s sums, with both halves of a group in the same pass so
// they share the 8 activation broadcasts. Each half's int16 sums and the float operations
// after them are BlockTile<1>'s, in the same order, so the results are bit-identical.
template <size_t S>
void OneToken(size_t groups, const uint8_t* wb, const int8_t* x, const float* xscale,
              const int32_t* xsum, float* y, size_t n) {
  const __m256i ones16 = _mm256_set1_epi16(1);
  __m256 acc[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
  for (size_t g = 0; g < groups; ++g) {
    const uint8_t* blk = qd8_q3r16::CodesOf<S>(wb, g);
    const uint8_t* scales = qd8_q3r16::ScalesOf<S>(wb, g);
    const int8_t* x0 = x + g * kQ4R16GroupSize;
    TouchChunkAt(x, g * kQ4R16GroupSize, groups * kQ4R16GroupSize);
    __m256i s[2] = {_mm256_setzero_si256(), _mm256_setzero_si256()};
    __m256i high[2];
    for (size_t half = 0; half < 2; ++half) {
      high[half] = _mm256_loadu_si256(
          reinterpret_cast<const __m256i*>(blk + kQ3R16HighBitsOffset + half * 32));
    }
#pragma GCC unroll 2
    for (size_t h = 0; h < 2; ++h) {
      __m256i low[2];
      for (size_t half = 0; half < 2; ++half) {
        low[half] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + h * 64 + half * 32));
      }
#pragma GCC unroll 4
      for (size_t q = 0; q < 4; ++q) {
        const size_t k = 4 * h + q;
        const __m256i xb = Broadcast4Avx2(x0 + 4 * k);
#pragma GCC unroll 2
        for (size_t half = 0; half < 2; ++half) {
          s[half] = _mm256_add_epi16(
              s[half], _mm256_maddubs_epi16(Codes(low[half], high[half], q, k), xb));
        }
      }
    }
#pragma GCC unroll 2
    for (size_t half = 0; half < 2; ++half) {
      const __m256 d = _mm256_cvtph_ps(
          _mm_loadu_si128(reinterpret_cast<const __m128i*>(scales + half * 16)));
      const __m256i dot =
          _mm256_sub_epi32(_mm256_madd_epi16(s[half], ones16), _mm256_set1_epi32(4 * xsum[g]));
      const __m256 sx = _mm256_mul_ps(_mm256_cvtepi32_ps(dot), _mm256_set1_ps(xscale[g]));
      acc[half] = _mm256_fmadd_ps(sx, d, acc[half]);
    }
  }
  StoreLanesAvx2(y, acc[0], n < 8 ? n : 8);
  if (n > 8) StoreLanesAvx2(y + 8, acc[1], n - 8);
}

struct Policy {
  static constexpr size_t kTokenTile = kTile;
  template <size_t T, size_t S>
  static void Tile(size_t groups, const uint8_t* wb, const int8_t* xq, const float* xscale,
                   const int32_t* xsum, float* y, size_t y_stride, size_t n,
                   const uint8_t* next) {
    if constexpr (T == 1) {
      OneToken<S>(groups, wb, xq, xscale, xsum, y, n);
    } else {
      BlockTile<T, S>(groups, wb, xq, xscale, xsum, y, y_stride, n, next);
    }
  }
};

}  // namespace

void qd8_q3r16_gemm_avx2(size_t m, size_t rows, size_t groups, size_t groups_per_scale,
                         const uint8_t* w, const int8_t* xq, const float* xscale,
                         const int32_t* xsum, float* y, size_t y_stride) {
  qd8_q3r16::Gemm<Policy>(m, rows, groups, groups_per_scale, w, xq, xscale, xsum, y, y_stride);
}

}  // namespace kite::kernels

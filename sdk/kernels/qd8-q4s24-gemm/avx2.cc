// qd8-q4s24-gemm with AVX2: vpshufb gathers, per row, the activations the kept values
// multiply (positions are the shuffle indices), then vpmaddubsw + vpmaddwd. A ymm register
// holds 8 rows (one dword lane each), so a 16-row block is two 8-row halves, each reading
// the 32-byte half of every 64-byte slice; both halves are done in the same pass so every
// block is read once. Compiled with -mavx2 -mfma -mf16c.
//
// Numerics. vpmaddubsw multiplies unsigned by signed bytes; both operands are signed here,
// so the activations are biased to a = xq + 128 (xq ^ 0x80) and the weights enter as
// b = q = u - 8 in [-8, 7]: sum a*b = sum q*xq + 128 sum q. Per int16 lane (2 products):
// |a*b pair| <= 255 * 8 * 2 = 4080 (no saturation), 4 slices <= 16320; the weight-only
// term 128 sum q (<= 8192 per lane) is computed with vpmaddubsw too and subtracted in int16
// before one vpmaddwd widens each row's two lanes to int32.
#include <immintrin.h>

#include <cassert>

#include "sdk/kernels/qd8-q4s24-gemm/qd8-q4s24-gemm.h"

namespace kite::kernels {
namespace {

// Tokens sharing one pass over a block row (prefill). Each token keeps two accumulators
// (one per half).
constexpr size_t kTokenTile = 4;

// Prefetches the 7 cache lines of one 416-byte block (wherever it starts).
inline void PrefetchBlock(const uint8_t* blk) {
  const char* p = reinterpret_cast<const char*>(blk);
  for (size_t i = 0; i < kQ4S24BlockBytes; i += 64) _mm_prefetch(p + i, _MM_HINT_T0);
}

// Stores the first n (<= 8) lanes of v to y.
inline void StoreRows(float* y, __m256 v, size_t n) {
  if (n == 8) {
    _mm256_storeu_ps(y, v);
  } else {
    alignas(32) float tmp[8];
    _mm256_store_ps(tmp, v);
    for (size_t i = 0; i < n; ++i) y[i] = tmp[i];
  }
}

inline __m256i Load256(const uint8_t* p) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
}

// The 16 activations at x, biased by 128, in both 128-bit lanes.
inline __m256i Table(const int8_t* x, __m256i bias) {
  return _mm256_xor_si256(
      _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x))), bias);
}

// y[t][r] for T tokens and the rows of one block (block_rows of them stored).
template <size_t T>
void BlockTile(size_t groups, const uint8_t* wb, const int8_t* xq, const float* xscale, float* y,
               size_t y_stride, size_t block_rows, const uint8_t* next) {
  const __m256i lo_mask = _mm256_set1_epi8(0x0F);
  const __m256i eight = _mm256_set1_epi8(8);
  const __m256i bias = _mm256_set1_epi8(static_cast<char>(0x80));
  const __m256i pos_mask = _mm256_set1_epi8(0x03);
  const __m256i ones = _mm256_set1_epi16(1);
  // Shuffle index offsets (see avx512vnni.cc): 8 (s % 2) + 4 (j / 2) for byte j of slice s.
  const __m256i off_even = _mm256_set1_epi32(0x04040000);
  const __m256i off_odd = _mm256_set1_epi32(0x0C0C0808);
  const size_t x_stride = groups * kQ4S24GroupSize;
  __m256 acc[T][2];
  for (size_t t = 0; t < T; ++t) acc[t][0] = acc[t][1] = _mm256_setzero_ps();

  for (size_t g = 0; g < groups; ++g) {
    // Group g is sub-block g % 2 of column block g / 2, whose scales it shares.
    const uint8_t* blk = wb + g / 2 * kQ4S24BlockBytes;
    const uint8_t* sub = blk + g % 2 * kQ4S24SubBlockBytes;
    if (next != nullptr && g % 2 == 0) PrefetchBlock(next + g / 2 * kQ4S24BlockBytes);
#pragma GCC unroll 2
    for (size_t h = 0; h < 2; ++h) {
      const __m256i n0 = Load256(sub + h * 32);
      const __m256i n1 = Load256(sub + 64 + h * 32);
      const __m256i pos = Load256(sub + kQ4S24PositionsOffset + h * 32);
      const __m256i q0 = _mm256_sub_epi8(_mm256_and_si256(n0, lo_mask), eight);
      const __m256i q1 = _mm256_sub_epi8(_mm256_and_si256(n1, lo_mask), eight);
      const __m256i q2 = _mm256_sub_epi8(_mm256_and_si256(_mm256_srli_epi16(n0, 4), lo_mask), eight);
      const __m256i q3 = _mm256_sub_epi8(_mm256_and_si256(_mm256_srli_epi16(n1, 4), lo_mask), eight);
      const __m256i i0 = _mm256_or_si256(_mm256_and_si256(pos, pos_mask), off_even);
      const __m256i i1 =
          _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(pos, 2), pos_mask), off_odd);
      const __m256i i2 =
          _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(pos, 4), pos_mask), off_even);
      const __m256i i3 =
          _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(pos, 6), pos_mask), off_odd);
      // 128 * sum q per int16 lane.
      const __m256i c = _mm256_add_epi16(
          _mm256_add_epi16(_mm256_maddubs_epi16(bias, q0), _mm256_maddubs_epi16(bias, q1)),
          _mm256_add_epi16(_mm256_maddubs_epi16(bias, q2), _mm256_maddubs_epi16(bias, q3)));
      const __m256 d = _mm256_cvtph_ps(
          _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + kQ4S24ScalesOffset + h * 16)));
#pragma GCC unroll 4
      for (size_t t = 0; t < T; ++t) {
        const int8_t* x = xq + t * x_stride + g * kQ4S24GroupSize;
        const __m256i xlo = Table(x, bias);
        const __m256i xhi = Table(x + 16, bias);
        const __m256i s01 = _mm256_add_epi16(_mm256_maddubs_epi16(_mm256_shuffle_epi8(xlo, i0), q0),
                                             _mm256_maddubs_epi16(_mm256_shuffle_epi8(xlo, i1), q1));
        const __m256i s23 = _mm256_add_epi16(_mm256_maddubs_epi16(_mm256_shuffle_epi8(xhi, i2), q2),
                                             _mm256_maddubs_epi16(_mm256_shuffle_epi8(xhi, i3), q3));
        const __m256i s16 = _mm256_sub_epi16(_mm256_add_epi16(s01, s23), c);
        const __m256 dot = _mm256_cvtepi32_ps(_mm256_madd_epi16(s16, ones));
        const __m256 sx = _mm256_mul_ps(dot, _mm256_set1_ps(xscale[t * groups + g]));
        acc[t][h] = _mm256_fmadd_ps(sx, d, acc[t][h]);
      }
    }
  }
  for (size_t t = 0; t < T; ++t) {
    StoreRows(y + t * y_stride, acc[t][0], block_rows < 8 ? block_rows : 8);
    if (block_rows > 8) {
      StoreRows(y + t * y_stride + 8, acc[t][1], block_rows - 8 < 8 ? block_rows - 8 : 8);
    }
  }
}

}  // namespace

void qd8_q4s24_gemm_avx2(size_t m, size_t rows, size_t groups, const uint8_t* w, const int8_t* xq,
                         const float* xscale, float* y, size_t y_stride) {
  assert(m >= 1 && rows >= 1 && groups >= 1);
  assert(w != nullptr && xq != nullptr && xscale != nullptr);
  assert(y != nullptr && y_stride >= rows);
  const size_t blocks = (rows + kQ4S24BlockRows - 1) / kQ4S24BlockRows;
  const size_t x_stride = groups * kQ4S24GroupSize;
  const size_t row_block_bytes = (groups + 1) / 2 * kQ4S24BlockBytes;
  for (size_t b = 0; b < blocks; ++b) {
    const uint8_t* wb = w + b * row_block_bytes;
    const size_t block_rows = rows - b * kQ4S24BlockRows;
    float* yb = y + b * kQ4S24BlockRows;
    const uint8_t* next = b + 1 < blocks ? wb + row_block_bytes : nullptr;
    size_t t = 0;
    for (; t + kTokenTile <= m; t += kTokenTile) {
      BlockTile<kTokenTile>(groups, wb, xq + t * x_stride, xscale + t * groups, yb + t * y_stride,
                            y_stride, block_rows, t == 0 ? next : nullptr);
    }
    const int8_t* xt = xq + t * x_stride;
    const float* st = xscale + t * groups;
    float* yt = yb + t * y_stride;
    const uint8_t* pf = t == 0 ? next : nullptr;
    switch (m - t) {
      case 0: break;
      case 1: BlockTile<1>(groups, wb, xt, st, yt, y_stride, block_rows, pf); break;
      case 2: BlockTile<2>(groups, wb, xt, st, yt, y_stride, block_rows, pf); break;
      case 3: BlockTile<3>(groups, wb, xt, st, yt, y_stride, block_rows, pf); break;
      default: assert(false);
    }
  }
}

}  // namespace kite::kernels

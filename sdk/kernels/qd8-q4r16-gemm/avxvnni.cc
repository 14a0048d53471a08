// qd8-q4r16-gemm with AVX-VNNI: 256-bit vpdpbusd. A ymm register holds 8 rows (one dword
// lane each), so a 16-row block is computed as two 8-row halves, each half reading the
// 32-byte half of every 64-byte slice. Compiled with -mavx2 -mavxvnni -mfma -mf16c.
#include <immintrin.h>

#include <cassert>
#include <cstring>

#include "sdk/kernels/qd8-q4r16-gemm/qd8-q4r16-gemm.h"

namespace kite::kernels {
namespace {

// Tokens sharing one pass over a half block (16 ymm registers: 8 unpacked weights,
// 4 accumulators, scales, offsets and temporaries).
constexpr size_t kTokenTile = 4;
// Groups whose xscale * xsum products are computed at once into a stack buffer.
constexpr size_t kGroupChunk = 64;

// Dot products start from the bits of 1.5 * 2^23: |dot| < 2^22, so the final int32 bits
// read as a float are exactly 1.5 * 2^23 + dot (a subtraction instead of a conversion).
constexpr int32_t kMagicBits = 0x4B400000;
constexpr float kMagic = 12582912.0f;

inline __m256i Broadcast4(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, sizeof(v));
  return _mm256_set1_epi32(v);
}

// xsx[t][g] = xscale[t][g0 + g] * xsum[t][g0 + g] for g < gn.
template <size_t T>
void ScaledSums(size_t groups, size_t g0, size_t gn, const float* xscale, const int32_t* xsum,
                float (*xsx)[kGroupChunk]) {
  for (size_t t = 0; t < T; ++t) {
    const float* s = xscale + t * groups + g0;
    const int32_t* c = xsum + t * groups + g0;
    size_t g = 0;
    for (; g + 8 <= gn; g += 8) {
      const __m256i ci = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(c + g));
      _mm256_store_ps(&xsx[t][g], _mm256_mul_ps(_mm256_loadu_ps(s + g), _mm256_cvtepi32_ps(ci)));
    }
    for (; g < gn; ++g) xsx[t][g] = s[g] * static_cast<float>(c[g]);
  }
}

// y[t][r] for T tokens and the 8 rows of half `h` of one block; `n` rows (<= 8) stored.
template <size_t T>
void HalfBlockTile(size_t groups, const uint8_t* wb, size_t h, const int8_t* xq,
                   const float* xscale, const int32_t* xsum, float* y, size_t y_stride,
                   size_t n) {
  constexpr bool kSplit = T <= 2;
  const __m256i nibble_mask = _mm256_set1_epi8(0x0F);
  const __m256i magic_bits = _mm256_set1_epi32(kMagicBits);
  const __m256 magic = _mm256_set1_ps(kMagic);
  const size_t x_stride = groups * kQ4R16GroupSize;
  __m256 acc[T];
#pragma GCC unroll 4
  for (size_t t = 0; t < T; ++t) acc[t] = _mm256_setzero_ps();
  alignas(32) float xsx[T][kGroupChunk];

  for (size_t g0 = 0; g0 < groups; g0 += kGroupChunk) {
    const size_t gn = groups - g0 < kGroupChunk ? groups - g0 : kGroupChunk;
    ScaledSums<T>(groups, g0, gn, xscale, xsum, xsx);
    for (size_t g = 0; g < gn; ++g) {
      const uint8_t* blk = wb + (g0 + g) * kQ4R16BlockBytes;
      // Slice p (64 bytes) holds per row columns p*4..p*4+3 (low nibbles) and
      // 16+p*4..16+p*4+3 (high nibbles); rows 8h..8h+7 are its bytes [32h, 32h + 32).
      __m256i lo[4], hi[4];
#pragma GCC unroll 4
      for (size_t p = 0; p < 4; ++p) {
        const __m256i v =
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + p * 64 + h * 32));
        lo[p] = _mm256_and_si256(v, nibble_mask);
        hi[p] = _mm256_and_si256(_mm256_srli_epi16(v, 4), nibble_mask);
      }
      const __m256 d = _mm256_cvtph_ps(
          _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + kQ4R16ScalesOffset + h * 16)));
      const __m256 o = _mm256_cvtph_ps(
          _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + kQ4R16OffsetsOffset + h * 16)));
#pragma GCC unroll 4
      for (size_t t = 0; t < T; ++t) {
        const int8_t* x = xq + t * x_stride + (g0 + g) * kQ4R16GroupSize;
        // vpdpbusd: unsigned nibbles times signed activations, 4 products per row lane.
        __m256i s0 = magic_bits;
        __m256i s1 = kSplit ? _mm256_setzero_si256() : magic_bits;
#pragma GCC unroll 4
        for (size_t p = 0; p < 4; ++p) {
          s0 = _mm256_dpbusd_avx_epi32(s0, lo[p], Broadcast4(x + p * 4));
        }
        if (kSplit) {
#pragma GCC unroll 4
          for (size_t p = 0; p < 4; ++p) {
            s1 = _mm256_dpbusd_avx_epi32(s1, hi[p], Broadcast4(x + 16 + p * 4));
          }
          s0 = _mm256_add_epi32(s0, s1);
        } else {
#pragma GCC unroll 4
          for (size_t p = 0; p < 4; ++p) {
            s0 = _mm256_dpbusd_avx_epi32(s0, hi[p], Broadcast4(x + 16 + p * 4));
          }
        }
        const __m256 dot = _mm256_sub_ps(_mm256_castsi256_ps(s0), magic);
        const __m256 sx = _mm256_mul_ps(dot, _mm256_set1_ps(xscale[t * groups + g0 + g]));
        acc[t] = _mm256_fmadd_ps(sx, d, acc[t]);
        acc[t] = _mm256_fmadd_ps(o, _mm256_set1_ps(xsx[t][g]), acc[t]);
      }
    }
  }
  for (size_t t = 0; t < T; ++t) {
    if (n == 8) {
      _mm256_storeu_ps(y + t * y_stride, acc[t]);
    } else {
      alignas(32) float tmp[8];
      _mm256_store_ps(tmp, acc[t]);
      for (size_t i = 0; i < n; ++i) y[t * y_stride + i] = tmp[i];
    }
  }
}

template <size_t T>
void BlockTile(size_t groups, const uint8_t* wb, const int8_t* xq, const float* xscale,
               const int32_t* xsum, float* y, size_t y_stride, size_t block_rows) {
  HalfBlockTile<T>(groups, wb, 0, xq, xscale, xsum, y, y_stride, block_rows < 8 ? block_rows : 8);
  if (block_rows > 8) {
    const size_t n = block_rows - 8 < 8 ? block_rows - 8 : 8;
    HalfBlockTile<T>(groups, wb, 1, xq, xscale, xsum, y + 8, y_stride, n);
  }
}

}  // namespace

void qd8_q4r16_gemm_avxvnni(size_t m, size_t rows, size_t groups, const uint8_t* w,
                            const int8_t* xq, const float* xscale, const int32_t* xsum,
                            float* y, size_t y_stride) {
  assert(m >= 1 && rows >= 1 && groups >= 1);
  assert(w != nullptr && xq != nullptr && xscale != nullptr && xsum != nullptr);
  assert(y != nullptr && y_stride >= rows);
  const size_t blocks = (rows + kQ4R16BlockRows - 1) / kQ4R16BlockRows;
  const size_t x_stride = groups * kQ4R16GroupSize;
  for (size_t b = 0; b < blocks; ++b) {
    const uint8_t* wb = w + b * groups * kQ4R16BlockBytes;
    const size_t block_rows = rows - b * kQ4R16BlockRows;
    float* yb = y + b * kQ4R16BlockRows;
    size_t t = 0;
    for (; t + kTokenTile <= m; t += kTokenTile) {
      BlockTile<kTokenTile>(groups, wb, xq + t * x_stride, xscale + t * groups,
                            xsum + t * groups, yb + t * y_stride, y_stride, block_rows);
    }
    const int8_t* xt = xq + t * x_stride;
    const float* st = xscale + t * groups;
    const int32_t* ct = xsum + t * groups;
    float* yt = yb + t * y_stride;
    switch (m - t) {
      case 0: break;
      case 1: BlockTile<1>(groups, wb, xt, st, ct, yt, y_stride, block_rows); break;
      case 2: BlockTile<2>(groups, wb, xt, st, ct, yt, y_stride, block_rows); break;
      case 3: BlockTile<3>(groups, wb, xt, st, ct, yt, y_stride, block_rows); break;
      default: assert(false);
    }
  }
}

}  // namespace kite::kernels

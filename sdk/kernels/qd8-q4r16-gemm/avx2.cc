// qd8-q4r16-gemm with AVX2: vpmaddubsw + vpmaddwd. A ymm register holds 8 rows (one dword
// lane each), so a 16-row block is computed as two 8-row halves, each reading the 32-byte
// half of every 64-byte slice: one half per pass for prefill tiles, both halves in one
// pass for a single token. Compiled with -mavx2 -mfma -mf16c.
//
// vpmaddubsw multiplies unsigned bytes (nibbles, <= 15) by signed bytes (|xq| <= 128) and
// adds adjacent pairs into int16: |pair| <= 3840. A group contributes 8 such pair sums per
// int16 lane (4 slices x low/high nibbles), at most 30720 < 32767, so they accumulate in
// int16 without saturating; one vpmaddwd with ones then widens each row's lane to int32.
#include <immintrin.h>

#include <cassert>
#include <cstring>

#include "sdk/kernels/qd8-q4r16-gemm/qd8-q4r16-gemm.h"

namespace kite::kernels {
namespace {

// Bytes per block: Q4_R16_G32, or the offset-free Q4_R16_G32_S (kSym, o = -8 d).
template <bool kSym>
constexpr size_t kBlockBytesOf = kSym ? kQ4R16SBlockBytes : kQ4R16BlockBytes;

// Tokens sharing one pass over a half block (prefill): the half block's 8 unpacked weight
// vectors stay in registers for all of them (4 measured best; the token-interleaved order
// of the VNNI variants makes GCC reassociate the int16 sums and spill here).
constexpr size_t kTokenTile = 4;
// Groups whose xscale * xsum products are computed at once into a stack buffer.
constexpr size_t kGroupChunk = 64;

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

// Prefetches the 5 cache lines of one 320-byte block.
inline void PrefetchBlock(const uint8_t* blk) {
  const char* p = reinterpret_cast<const char*>(blk);
  _mm_prefetch(p, _MM_HINT_T0);
  _mm_prefetch(p + 64, _MM_HINT_T0);
  _mm_prefetch(p + 128, _MM_HINT_T0);
  _mm_prefetch(p + 192, _MM_HINT_T0);
  _mm_prefetch(p + 256, _MM_HINT_T0);
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

// One token (decode): both 8-row halves in the same pass, so every block is read once
// from memory, with separate chains per half and for the scale and offset terms. Prefetches
// the block row `next` when not null.
template <bool kSym>
void BlockOneToken(size_t groups, const uint8_t* wb, const int8_t* x, const float* xscale,
                   const int32_t* xsum, float* y, size_t block_rows, const uint8_t* next) {
  const __m256i nibble_mask = _mm256_set1_epi8(0x0F);
  const __m256i ones = _mm256_set1_epi16(1);
  __m256 acc_d[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
  __m256 acc_o[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
  for (size_t g = 0; g < groups; ++g) {
    const uint8_t* blk = wb + g * kBlockBytesOf<kSym>;
    if (next != nullptr) PrefetchBlock(next + g * kBlockBytesOf<kSym>);
    const int8_t* xg = x + g * kQ4R16GroupSize;
    __m256i s[2] = {_mm256_setzero_si256(), _mm256_setzero_si256()};  // int16 pair sums
#pragma GCC unroll 4
    for (size_t p = 0; p < 4; ++p) {
      const __m256i x_lo = Broadcast4(xg + p * 4);
      const __m256i x_hi = Broadcast4(xg + 16 + p * 4);
#pragma GCC unroll 2
      for (size_t h = 0; h < 2; ++h) {
        const __m256i v =
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + p * 64 + h * 32));
        s[h] = _mm256_add_epi16(s[h], _mm256_maddubs_epi16(_mm256_and_si256(v, nibble_mask), x_lo));
        s[h] = _mm256_add_epi16(
            s[h],
            _mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(v, 4), nibble_mask), x_hi));
      }
    }
    const __m256 xs = _mm256_set1_ps(xscale[g]);
    const __m256 xsx = _mm256_set1_ps(xscale[g] * static_cast<float>(xsum[g]));
    const __m256i xsum8 = _mm256_set1_epi32(8 * xsum[g]);
#pragma GCC unroll 2
    for (size_t h = 0; h < 2; ++h) {
      const __m256 d = _mm256_cvtph_ps(
          _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + kQ4R16ScalesOffset + h * 16)));
      __m256i dot_i = _mm256_madd_epi16(s[h], ones);
      // Offset-free: sum (u - 8) x = sum u x - 8 sum x, exactly, with no offset term.
      if (kSym) dot_i = _mm256_sub_epi32(dot_i, xsum8);
      const __m256 dot = _mm256_cvtepi32_ps(dot_i);
      acc_d[h] = _mm256_fmadd_ps(_mm256_mul_ps(dot, xs), d, acc_d[h]);
      if (!kSym) {
        const __m256 o = _mm256_cvtph_ps(_mm_loadu_si128(
            reinterpret_cast<const __m128i*>(blk + kQ4R16OffsetsOffset + h * 16)));
        acc_o[h] = _mm256_fmadd_ps(o, xsx, acc_o[h]);
      }
    }
  }
  StoreRows(y, _mm256_add_ps(acc_d[0], acc_o[0]), block_rows < 8 ? block_rows : 8);
  if (block_rows > 8) {
    StoreRows(y + 8, _mm256_add_ps(acc_d[1], acc_o[1]), block_rows - 8 < 8 ? block_rows - 8 : 8);
  }
}

// y[t][r] for T tokens and the 8 rows of half `h` of one block; `n` rows (<= 8) stored.
// Prefetches the block row `next` when not null.
template <bool kSym, size_t T>
void HalfBlockTile(size_t groups, const uint8_t* wb, size_t h, const int8_t* xq,
                   const float* xscale, const int32_t* xsum, float* y, size_t y_stride, size_t n,
                   const uint8_t* next) {
  const __m256i nibble_mask = _mm256_set1_epi8(0x0F);
  const __m256i ones = _mm256_set1_epi16(1);
  const size_t x_stride = groups * kQ4R16GroupSize;
  __m256 acc[T];
#pragma GCC unroll 4
  for (size_t t = 0; t < T; ++t) acc[t] = _mm256_setzero_ps();
  alignas(32) float xsx[T][kGroupChunk];

  for (size_t g0 = 0; g0 < groups; g0 += kGroupChunk) {
    const size_t gn = groups - g0 < kGroupChunk ? groups - g0 : kGroupChunk;
    if (!kSym) ScaledSums<T>(groups, g0, gn, xscale, xsum, xsx);
    for (size_t g = 0; g < gn; ++g) {
      const uint8_t* blk = wb + (g0 + g) * kBlockBytesOf<kSym>;
      if (next != nullptr) PrefetchBlock(next + (g0 + g) * kBlockBytesOf<kSym>);
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
      const __m256 o = kSym ? _mm256_setzero_ps()
                           : _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(
                                 blk + kQ4R16OffsetsOffset + h * 16)));
#pragma GCC unroll 4
      for (size_t t = 0; t < T; ++t) {
        const int8_t* x = xq + t * x_stride + (g0 + g) * kQ4R16GroupSize;
        // Two int16 chains (low / high nibbles), widened to int32 once (see the top).
        __m256i s0 = _mm256_maddubs_epi16(lo[0], Broadcast4(x));
        __m256i s1 = _mm256_maddubs_epi16(hi[0], Broadcast4(x + 16));
#pragma GCC unroll 4
        for (size_t p = 1; p < 4; ++p) {
          s0 = _mm256_add_epi16(s0, _mm256_maddubs_epi16(lo[p], Broadcast4(x + p * 4)));
          s1 = _mm256_add_epi16(s1, _mm256_maddubs_epi16(hi[p], Broadcast4(x + 16 + p * 4)));
        }
        __m256i dot_i = _mm256_madd_epi16(_mm256_add_epi16(s0, s1), ones);
        // Offset-free: sum (u - 8) x = sum u x - 8 sum x, exactly, with no offset term.
        if (kSym) {
          dot_i = _mm256_sub_epi32(dot_i, _mm256_set1_epi32(8 * xsum[t * groups + g0 + g]));
        }
        const __m256 dot = _mm256_cvtepi32_ps(dot_i);
        const __m256 sx = _mm256_mul_ps(dot, _mm256_set1_ps(xscale[t * groups + g0 + g]));
        acc[t] = _mm256_fmadd_ps(sx, d, acc[t]);
        if (!kSym) acc[t] = _mm256_fmadd_ps(o, _mm256_set1_ps(xsx[t][g]), acc[t]);
      }
    }
  }
  for (size_t t = 0; t < T; ++t) StoreRows(y + t * y_stride, acc[t], n);
}

template <bool kSym, size_t T>
void BlockTile(size_t groups, const uint8_t* wb, const int8_t* xq, const float* xscale,
               const int32_t* xsum, float* y, size_t y_stride, size_t block_rows,
               const uint8_t* next) {
  HalfBlockTile<kSym, T>(groups, wb, 0, xq, xscale, xsum, y, y_stride, block_rows < 8 ? block_rows : 8,
                   next);
  if (block_rows > 8) {
    const size_t n = block_rows - 8 < 8 ? block_rows - 8 : 8;
    HalfBlockTile<kSym, T>(groups, wb, 1, xq, xscale, xsum, y + 8, y_stride, n, nullptr);
  }
}

template <bool kSym>
void Gemm(size_t m, size_t rows, size_t groups, const uint8_t* w, const int8_t* xq,
                         const float* xscale, const int32_t* xsum, float* y, size_t y_stride) {
  assert(m >= 1 && rows >= 1 && groups >= 1);
  assert(w != nullptr && xq != nullptr && xscale != nullptr && xsum != nullptr);
  assert(y != nullptr && y_stride >= rows);
  const size_t blocks = (rows + kQ4R16BlockRows - 1) / kQ4R16BlockRows;
  const size_t x_stride = groups * kQ4R16GroupSize;
  for (size_t b = 0; b < blocks; ++b) {
    const uint8_t* wb = w + b * groups * kBlockBytesOf<kSym>;
    const size_t block_rows = rows - b * kQ4R16BlockRows;
    float* yb = y + b * kQ4R16BlockRows;
    // The first pass over this block row prefetches the next one.
    const uint8_t* next = b + 1 < blocks ? wb + groups * kBlockBytesOf<kSym> : nullptr;
    size_t t = 0;
    for (; t + kTokenTile <= m; t += kTokenTile) {
      BlockTile<kSym, kTokenTile>(groups, wb, xq + t * x_stride, xscale + t * groups, xsum + t * groups,
                            yb + t * y_stride, y_stride, block_rows, t == 0 ? next : nullptr);
    }
    const int8_t* xt = xq + t * x_stride;
    const float* st = xscale + t * groups;
    const int32_t* ct = xsum + t * groups;
    float* yt = yb + t * y_stride;
    const uint8_t* pf = t == 0 ? next : nullptr;
    switch (m - t) {
      case 0: break;
      case 1: BlockOneToken<kSym>(groups, wb, xt, st, ct, yt, block_rows, pf); break;
      case 2: BlockTile<kSym, 2>(groups, wb, xt, st, ct, yt, y_stride, block_rows, pf); break;
      case 3: BlockTile<kSym, 3>(groups, wb, xt, st, ct, yt, y_stride, block_rows, pf); break;
      default: assert(false);
    }
  }
}

}  // namespace

void qd8_q4r16_gemm_avx2(size_t m, size_t rows, size_t groups, const uint8_t* w,
                   const int8_t* xq, const float* xscale, const int32_t* xsum, float* y,
                   size_t y_stride) {
  Gemm<false>(m, rows, groups, w, xq, xscale, xsum, y, y_stride);
}

void qd8_q4r16s_gemm_avx2(size_t m, size_t rows, size_t groups, const uint8_t* w,
                   const int8_t* xq, const float* xscale, const int32_t* xsum, float* y,
                   size_t y_stride) {
  Gemm<true>(m, rows, groups, w, xq, xscale, xsum, y, y_stride);
}

}  // namespace kite::kernels

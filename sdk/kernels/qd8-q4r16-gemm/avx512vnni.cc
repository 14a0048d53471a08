// qd8-q4r16-gemm with AVX-512 VNNI: one zmm lane per row of a 16-row block, so a 64-byte
// slice of a block feeds vpdpbusd directly with 4 activation bytes broadcast to all lanes.
// Compiled with -mavx512f -mavx512bw -mavx512vl -mavx512vnni -mfma -mf16c.

// GCC 12's AVX-512 headers trip -Wmaybe-uninitialized on their own _mm512_undefined_ps()
// (GCC PR 105593, fixed in 13).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include <cstring>

#include "sdk/kernels/qd8-q4r16-gemm/driver.h"
#include "sdk/kernels/qd8-q4r16-gemm/qd8-q4r16-gemm.h"
#include "sdk/kernels/simd/avx2-util.h"
#include "sdk/kernels/simd/avx512-util.h"
#include "sdk/kernels/simd/touch.h"

namespace kite::kernels {
namespace {

using qd8_q4r16::kBlockBytesOf;

// Tokens sharing one pass over the weights of BlockTile (one 16-row block) and PairTile
// (two): each 64-byte weight slice is unpacked once for all of them (prefill), and their
// dot-product chains interleave. PairTile's 2 x 6 accumulators + 2 x 6 dot products +
// weights and constants fit the 32 zmm registers.
constexpr size_t kPairTile = 6;
// Groups whose xscale * xsum products are computed at once into a stack buffer (so the
// inner loop reads them with a broadcast memory operand).
constexpr size_t kGroupChunk = 64;

// Dot products start from kF32MagicBits (simd/avx2-util.h) instead of 0: |dot| <= 32 * 15 *
// 128 < 2^22, so the final int32 bits, read as a float, are exactly 1.5 * 2^23 + dot, and
// one subtraction replaces an int->float conversion.

// acc += u * (the 4 bytes at x, broadcast to every lane): vpdpbusd multiplies unsigned
// bytes (the nibbles) by signed bytes (the activations), exactly u * xq, and adds the 4
// products of each dword lane (one row) to it. GCC does not fold the broadcast into the
// memory operand by itself; spelled out, it saves a vpbroadcastd per product.
struct Bytes4 {
  int8_t b[4];
};
inline __m512i DotBroadcast(__m512i acc, __m512i u, const int8_t* x) {
#if defined(__GNUC__)
  __asm__("vpdpbusd {%2%{1to16%}, %1, %0|%0, %1, %2%{1to16%}}"
          : "+v"(acc)
          : "v"(u), "m"(*reinterpret_cast<const Bytes4*>(x)));
  return acc;
#else
  int32_t v;
  std::memcpy(&v, x, sizeof(v));
  return _mm512_dpbusd_epi32(acc, u, _mm512_set1_epi32(v));
#endif
}

// The codebook + 128 (unsigned bytes for vpdpbusd) in every 128-bit lane, so vpshufb maps
// each 4-bit code to its entry + 128.
inline __m512i CodebookTable(const int8_t* codebook) {
  const __m128i c = _mm_loadu_si128(reinterpret_cast<const __m128i*>(codebook));
  // (The masked form: GCC 12 warns that the unmasked one reads an undefined register.)
  const __m128i biased = _mm_xor_si128(c, _mm_set1_epi8(static_cast<char>(0x80)));
  return _mm512_maskz_broadcast_i32x4(0xFFFF, biased);
}

// The per-token terms of groups [g0, g0 + gn) (gn <= kGroupChunk) of T tokens: with offsets,
// xsx = xscale * xsum (the offset term); offset-free, xinit = each dot product's starting
// bits, magic - 8 * xsum (magic - 128 * xsum for the codebook's entries + 128), so the
// accumulated integer is already the signed dot product.
template <bool kSym, bool kCb, size_t T>
inline void ChunkTerms(size_t groups, size_t g0, size_t gn, const float* xscale,
                       const int32_t* xsum, float (*xsx)[kGroupChunk],
                       int32_t (*xinit)[kGroupChunk]) {
  const __m512i magic_bits = _mm512_set1_epi32(kF32MagicBits);
  for (size_t t = 0; t < T; ++t) {
    for (size_t g = 0; g < gn; g += 16) {
      const size_t n = gn - g < 16 ? gn - g : 16;
      const __mmask16 m = static_cast<__mmask16>((1u << n) - 1u);
      const __m512i c = _mm512_maskz_loadu_epi32(m, xsum + t * groups + g0 + g);
      if (kSym) {
        const __m512i shifted = _mm512_slli_epi32(c, kCb ? 7 : 3);
        _mm512_store_si512(&xinit[t][g], _mm512_sub_epi32(magic_bits, shifted));
      } else {
        const __m512 sc = _mm512_maskz_loadu_ps(m, xscale + t * groups + g0 + g);
        _mm512_store_ps(&xsx[t][g], _mm512_mul_ps(sc, _mm512_cvtepi32_ps(c)));
      }
    }
  }
}

// y[t][r] for T tokens and the 16 rows of one block (rows outside `mask` not stored).
// When `next` is not null, also prefetches that block row (the next one), so its first
// pass does not wait for memory. kCb (with kSym, the same blocks): the codebook layout
// Q4_R16_G32_CB, codes looked up in `codebook` (else unused).
template <bool kSym, bool kCb, size_t T>
void BlockTile(size_t groups, const uint8_t* wb, const int8_t* codebook, const int8_t* xq,
               const float* xscale, const int32_t* xsum, float* y, size_t y_stride,
               __mmask16 mask, const uint8_t* next) {
  static_assert(kSym || !kCb, "the codebook layout has the offset-free blocks");
  const __m512i nibble_mask = _mm512_set1_epi8(0x0F);
  const __m512i magic_bits = _mm512_set1_epi32(kF32MagicBits);
  const __m512 magic = _mm512_set1_ps(kF32Magic);
  const size_t x_stride = groups * kQ4R16GroupSize;
  __m512 acc[T];
#pragma GCC unroll 8
  for (size_t t = 0; t < T; ++t) acc[t] = _mm512_setzero_ps();
  // A chunk's per-token terms (ChunkTerms). The offset-free integer sum (u - 8) * xq has
  // |.| <= 32 * 8 * 128 < 2^22, the codebook's sum (c + 128) * xq <= 32 * 255 * 128 < 2^21:
  // both within the magic's exact range.
  alignas(64) float xsx[T][kGroupChunk];
  alignas(64) int32_t xinit[T][kGroupChunk];
  const __m512i table = kCb ? CodebookTable(codebook) : _mm512_setzero_si512();

  for (size_t g0 = 0; g0 < groups; g0 += kGroupChunk) {
    const size_t gn = groups - g0 < kGroupChunk ? groups - g0 : kGroupChunk;
    ChunkTerms<kSym, kCb, T>(groups, g0, gn, xscale, xsum, xsx, xinit);
    for (size_t g = 0; g < gn; ++g) {
      const uint8_t* blk = wb + (g0 + g) * kBlockBytesOf<kSym>;
      if (next != nullptr) {
        PrefetchBytesX86(next + (g0 + g) * kBlockBytesOf<kSym>, kQ4R16BlockBytes);
      }
      const int8_t* x0 = xq + (g0 + g) * kQ4R16GroupSize;
      __m512i s[T];
#pragma GCC unroll 8
      for (size_t t = 0; t < T; ++t) s[t] = kSym ? _mm512_set1_epi32(xinit[t][g]) : magic_bits;
      // Slice p holds, per row (one dword lane), columns p*4..p*4+3 in the low nibbles and
      // 16+p*4..16+p*4+3 in the high nibbles. Tokens are interleaved so consecutive
      // vpdpbusd are independent.
#pragma GCC unroll 4
      for (size_t p = 0; p < 4; ++p) {
        const __m512i v = _mm512_loadu_si512(blk + p * 64);
        __m512i lo = _mm512_and_si512(v, nibble_mask);
        __m512i hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), nibble_mask);
        if (kCb) {
          lo = _mm512_shuffle_epi8(table, lo);
          hi = _mm512_shuffle_epi8(table, hi);
        }
#pragma GCC unroll 8
        for (size_t t = 0; t < T; ++t) {
          s[t] = DotBroadcast(s[t], lo, x0 + t * x_stride + p * 4);
          s[t] = DotBroadcast(s[t], hi, x0 + t * x_stride + 16 + p * 4);
        }
      }
      const __m512 d = _mm512_cvtph_ps(
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + kQ4R16ScalesOffset)));
      if (kSym) {
#pragma GCC unroll 8
        for (size_t t = 0; t < T; ++t) {
          const __m512 dot = _mm512_sub_ps(_mm512_castsi512_ps(s[t]), magic);
          const __m512 sx = _mm512_mul_ps(dot, _mm512_set1_ps(xscale[t * groups + g0 + g]));
          acc[t] = _mm512_fmadd_ps(sx, d, acc[t]);
        }
      } else {
        const __m512 o = _mm512_cvtph_ps(
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + kQ4R16OffsetsOffset)));
#pragma GCC unroll 8
        for (size_t t = 0; t < T; ++t) {
          const __m512 dot = _mm512_sub_ps(_mm512_castsi512_ps(s[t]), magic);
          const __m512 sx = _mm512_mul_ps(dot, _mm512_set1_ps(xscale[t * groups + g0 + g]));
          acc[t] = _mm512_fmadd_ps(sx, d, acc[t]);
          acc[t] = _mm512_fmadd_ps(o, _mm512_set1_ps(xsx[t][g]), acc[t]);
        }
      }
    }
  }
#pragma GCC unroll 8
  for (size_t t = 0; t < T; ++t) _mm512_mask_storeu_ps(y + t * y_stride, mask, acc[t]);
}

// Decode (one token, memory-bound): y[r] for the 16 rows of one block (rows outside `mask`
// not stored). The values are those of BlockTile with one token: the same int32 sums and,
// per group, the same float operations in the same order, so the results are bit-identical.
// What differs (docs/performance.md, "Decode at the memory roof"):
// - no software prefetch: on Zen 5 the hardware prefetchers alone stream the block rows
//   (consecutive in memory) at the rate of a plain read loop; prefetching the next block
//   row made the loop about 15% slower from DRAM;
// - each group's dot product runs as two chains of 4 vpdpbusd (low and high nibbles)
//   instead of one of 8, and the uniform layouts take the high nibbles as v & 0xF0 (16 u,
//   no shift): that chain's sum is exactly 16 times the high-nibble dot product, and
//   shifting it right by 4 and adding it to the low chain gives the single chain's int32;
// - each 64-byte slice is loaded once.
template <bool kSym, bool kCb>
void DecodeBlock(size_t groups, const uint8_t* wb, const int8_t* codebook, const int8_t* xq,
                 const float* xscale, const int32_t* xsum, float* y, __mmask16 mask) {
  static_assert(kSym || !kCb, "the codebook layout has the offset-free blocks");
  const __m512i lo_mask = _mm512_set1_epi8(0x0F);
  const __m512i hi_mask = _mm512_set1_epi8(static_cast<char>(0xF0));
  const __m512i magic_bits = _mm512_set1_epi32(kF32MagicBits);
  const __m512 magic = _mm512_set1_ps(kF32Magic);
  __m512 acc = _mm512_setzero_ps();
  alignas(64) float xsx[1][kGroupChunk];
  alignas(64) int32_t xinit[1][kGroupChunk];
  const __m512i table = kCb ? CodebookTable(codebook) : _mm512_setzero_si512();

  for (size_t g0 = 0; g0 < groups; g0 += kGroupChunk) {
    const size_t gn = groups - g0 < kGroupChunk ? groups - g0 : kGroupChunk;
    ChunkTerms<kSym, kCb, 1>(groups, g0, gn, xscale, xsum, xsx, xinit);
    TouchL1(xq + g0 * kQ4R16GroupSize, gn * kQ4R16GroupSize);
    for (size_t g = 0; g < gn; ++g) {
      const uint8_t* blk = wb + (g0 + g) * kBlockBytesOf<kSym>;
      const int8_t* x0 = xq + (g0 + g) * kQ4R16GroupSize;
      __m512i s = kSym ? _mm512_set1_epi32(xinit[0][g]) : magic_bits;
      __m512i h = _mm512_setzero_si512();
#pragma GCC unroll 4
      for (size_t p = 0; p < 4; ++p) {
        __m512i v = _mm512_loadu_si512(blk + p * 64);
#if defined(__GNUC__)
        // One 64-byte load per slice: GCC would fold it into both vpandd and load it twice
        // (slower in cache on Zen 5).
        __asm__("" : "+v"(v));
#endif
        if (kCb) {
          const __m512i lo = _mm512_shuffle_epi8(table, _mm512_and_si512(v, lo_mask));
          const __m512i hi =
              _mm512_shuffle_epi8(table, _mm512_and_si512(_mm512_srli_epi16(v, 4), lo_mask));
          s = DotBroadcast(s, lo, x0 + p * 4);
          h = DotBroadcast(h, hi, x0 + 16 + p * 4);
        } else {
          s = DotBroadcast(s, _mm512_and_si512(v, lo_mask), x0 + p * 4);
          h = DotBroadcast(h, _mm512_and_si512(v, hi_mask), x0 + 16 + p * 4);
        }
      }
      // Exact: without the codebook h is 16 times the high nibbles' dot product (|.| <
      // 16 * 15 * 128), so the shift drops only zero bits.
      s = _mm512_add_epi32(s, kCb ? h : _mm512_srai_epi32(h, 4));
      const __m512 d = _mm512_cvtph_ps(
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + kQ4R16ScalesOffset)));
      const __m512 dot = _mm512_sub_ps(_mm512_castsi512_ps(s), magic);
      const __m512 sx = _mm512_mul_ps(dot, _mm512_set1_ps(xscale[g0 + g]));
      acc = _mm512_fmadd_ps(sx, d, acc);
      if (!kSym) {
        const __m512 o = _mm512_cvtph_ps(
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + kQ4R16OffsetsOffset)));
        acc = _mm512_fmadd_ps(o, _mm512_set1_ps(xsx[0][g]), acc);
      }
    }
  }
  _mm512_mask_storeu_ps(y, mask, acc);
}

// Prefill: y[t][r] for T tokens and the 16 + n1 rows of two adjacent 16-row blocks (wb0,
// and wb1 whose first n1 rows are stored, 1 <= n1 <= 16), in one pass.
// Each activation broadcast feeds both blocks' vpdpbusd, so a product costs half a load
// instead of one (BlockTile's embedded broadcast is a load per vpdpbusd, 85 loads per 64;
// here 70 per 96: 1.1-1.3x faster at 8-128 tokens on Zen 5, docs/performance.md). Per token
// and group the integer and float work is
// that of BlockTile<kSym, kCb, T>, in the same order, so the results are bit-identical.
// 2 x T accumulators + 2 x T dot products + 4 unpacked slices, the mask, the broadcast and
// (codebook) the table fit the 32 zmm registers for T <= 6. When `next` is not null, also
// prefetches that block row pair's two blocks (the second may lie past the matrix:
// prefetch never faults).
template <bool kSym, bool kCb, size_t T>
void PairTile(size_t groups, const uint8_t* wb0, const uint8_t* wb1, const int8_t* codebook,
              const int8_t* xq, const float* xscale, const int32_t* xsum, float* y,
              size_t y_stride, __mmask16 mask1, const uint8_t* next) {
  static_assert(kSym || !kCb, "the codebook layout has the offset-free blocks");
  constexpr size_t kBlock = kBlockBytesOf<kSym>;
  const __m512i nibble_mask = _mm512_set1_epi8(0x0F);
  const __m512i magic_bits = _mm512_set1_epi32(kF32MagicBits);
  const __m512 magic = _mm512_set1_ps(kF32Magic);
  const size_t x_stride = groups * kQ4R16GroupSize;
  __m512 acc0[T], acc1[T];
#pragma GCC unroll 8
  for (size_t t = 0; t < T; ++t) acc0[t] = acc1[t] = _mm512_setzero_ps();
  // A chunk's per-token terms (ChunkTerms), as in BlockTile.
  alignas(64) float xsx[T][kGroupChunk];
  alignas(64) int32_t xinit[T][kGroupChunk];
  const __m512i table = kCb ? CodebookTable(codebook) : _mm512_setzero_si512();

  for (size_t g0 = 0; g0 < groups; g0 += kGroupChunk) {
    const size_t gn = groups - g0 < kGroupChunk ? groups - g0 : kGroupChunk;
    ChunkTerms<kSym, kCb, T>(groups, g0, gn, xscale, xsum, xsx, xinit);
    for (size_t g = 0; g < gn; ++g) {
      const uint8_t* b0 = wb0 + (g0 + g) * kBlock;
      const uint8_t* b1 = wb1 + (g0 + g) * kBlock;
      if (next != nullptr) {
        PrefetchBytesX86(next + (g0 + g) * kBlock, kBlock);
        PrefetchBytesX86(next + (groups + g0 + g) * kBlock, kBlock);
      }
      const int8_t* x0 = xq + (g0 + g) * kQ4R16GroupSize;
      __m512i s0[T], s1[T];
#pragma GCC unroll 8
      for (size_t t = 0; t < T; ++t) {
        s0[t] = s1[t] = kSym ? _mm512_set1_epi32(xinit[t][g]) : magic_bits;
      }
#pragma GCC unroll 4
      for (size_t p = 0; p < 4; ++p) {
        const __m512i v0 = _mm512_loadu_si512(b0 + p * 64);
        const __m512i v1 = _mm512_loadu_si512(b1 + p * 64);
        __m512i lo0 = _mm512_and_si512(v0, nibble_mask);
        __m512i hi0 = _mm512_and_si512(_mm512_srli_epi16(v0, 4), nibble_mask);
        __m512i lo1 = _mm512_and_si512(v1, nibble_mask);
        __m512i hi1 = _mm512_and_si512(_mm512_srli_epi16(v1, 4), nibble_mask);
        if (kCb) {
          lo0 = _mm512_shuffle_epi8(table, lo0);
          hi0 = _mm512_shuffle_epi8(table, hi0);
          lo1 = _mm512_shuffle_epi8(table, lo1);
          hi1 = _mm512_shuffle_epi8(table, hi1);
        }
#pragma GCC unroll 8
        for (size_t t = 0; t < T; ++t) {
          int32_t a, b;
          std::memcpy(&a, x0 + t * x_stride + p * 4, sizeof(a));
          std::memcpy(&b, x0 + t * x_stride + 16 + p * 4, sizeof(b));
          const __m512i xl = _mm512_set1_epi32(a);
          const __m512i xh = _mm512_set1_epi32(b);
          s0[t] = _mm512_dpbusd_epi32(s0[t], lo0, xl);
          s1[t] = _mm512_dpbusd_epi32(s1[t], lo1, xl);
          s0[t] = _mm512_dpbusd_epi32(s0[t], hi0, xh);
          s1[t] = _mm512_dpbusd_epi32(s1[t], hi1, xh);
        }
      }
      const __m512 d0 = _mm512_cvtph_ps(
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b0 + kQ4R16ScalesOffset)));
      const __m512 d1 = _mm512_cvtph_ps(
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b1 + kQ4R16ScalesOffset)));
#pragma GCC unroll 8
      for (size_t t = 0; t < T; ++t) {
        const __m512 xs = _mm512_set1_ps(xscale[t * groups + g0 + g]);
        const __m512 dot0 = _mm512_sub_ps(_mm512_castsi512_ps(s0[t]), magic);
        const __m512 dot1 = _mm512_sub_ps(_mm512_castsi512_ps(s1[t]), magic);
        acc0[t] = _mm512_fmadd_ps(_mm512_mul_ps(dot0, xs), d0, acc0[t]);
        acc1[t] = _mm512_fmadd_ps(_mm512_mul_ps(dot1, xs), d1, acc1[t]);
      }
      if (!kSym) {
        const __m512 o0 = _mm512_cvtph_ps(
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b0 + kQ4R16OffsetsOffset)));
        const __m512 o1 = _mm512_cvtph_ps(
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b1 + kQ4R16OffsetsOffset)));
#pragma GCC unroll 8
        for (size_t t = 0; t < T; ++t) {
          const __m512 sx = _mm512_set1_ps(xsx[t][g]);
          acc0[t] = _mm512_fmadd_ps(o0, sx, acc0[t]);
          acc1[t] = _mm512_fmadd_ps(o1, sx, acc1[t]);
        }
      }
    }
  }
#pragma GCC unroll 8
  for (size_t t = 0; t < T; ++t) {
    _mm512_storeu_ps(y + t * y_stride, acc0[t]);
    _mm512_mask_storeu_ps(y + t * y_stride + kQ4R16BlockRows, mask1, acc1[t]);
  }
}

// The driver's policy: tiles of up to kTokenTile tokens over pairs of 16-row blocks (32
// rows; the driver's last block row may hold only one). A single token (decode, memory-bound)
// runs DecodeBlock on each block in turn, without prefetching; tiles of T >= 2 tokens run
// PairTile over two blocks, or BlockTile over a lone last block.
struct Avx512Vnni {
  static constexpr size_t kTokenTile = kPairTile;
  static constexpr size_t kTileRows = 2 * kQ4R16BlockRows;
  template <bool kSym, size_t T>
  static void Tile(size_t groups, const uint8_t* wb, const int8_t* xq, const float* xscale,
                   const int32_t* xsum, float* y, size_t y_stride, size_t n,
                   const uint8_t* next) {
    Rows<kSym, false, T>(groups, wb, nullptr, xq, xscale, xsum, y, y_stride, n, next);
  }
  template <size_t T>
  static void TileCb(size_t groups, const uint8_t* wb, const int8_t* codebook, const int8_t* xq,
                     const float* xscale, const int32_t* xsum, float* y, size_t y_stride,
                     size_t n, const uint8_t* next) {
    Rows<true, true, T>(groups, wb, codebook, xq, xscale, xsum, y, y_stride, n, next);
  }

 private:
  // The n <= 32 rows from wb (see the struct's comment).
  template <bool kSym, bool kCb, size_t T>
  static void Rows(size_t groups, const uint8_t* wb, const int8_t* codebook, const int8_t* xq,
                   const float* xscale, const int32_t* xsum, float* y, size_t y_stride,
                   size_t n, const uint8_t* next) {
    const uint8_t* wb1 = wb + groups * kBlockBytesOf<kSym>;
    if constexpr (T == 1) {
      DecodeBlock<kSym, kCb>(groups, wb, codebook, xq, xscale, xsum, y,
                             TailMask16(n < kQ4R16BlockRows ? n : kQ4R16BlockRows));
      if (n > kQ4R16BlockRows) {
        DecodeBlock<kSym, kCb>(groups, wb1, codebook, xq, xscale, xsum, y + kQ4R16BlockRows,
                               TailMask16(n - kQ4R16BlockRows));
      }
    } else if (n > kQ4R16BlockRows) {
      PairTile<kSym, kCb, T>(groups, wb, wb1, codebook, xq, xscale, xsum, y, y_stride,
                             TailMask16(n - kQ4R16BlockRows), next);
    } else {
      BlockTile<kSym, kCb, T>(groups, wb, codebook, xq, xscale, xsum, y, y_stride,
                              TailMask16(n), next);
    }
  }
};

}  // namespace

KITE_QD8_Q4R16_GEMM_VARIANTS(avx512vnni, Avx512Vnni)
KITE_QD8_Q4R16CB_GEMM_VARIANT(avx512vnni, Avx512Vnni)

}  // namespace kite::kernels

// The 256-bit tiles of qd8-q4r16-gemm, shared by avx2.cc (vpmaddubsw) and avxvnni.cc
// (vpdpbusd): a ymm register holds 8 rows (one dword lane each), so a 16-row block is
// computed as two 8-row halves, each reading the 32-byte half of every 64-byte slice: one
// half per pass for prefill tiles, both halves in one pass for a single token. The ISA file
// supplies the integer dot step as a policy (see Ymm below). Include only from files compiled
// with -mavx2 -mfma -mf16c: everything here is instantiated with the includer's internal
// policy, so each file gets its own copy built for its own ISA.
#pragma once

#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "sdk/kernels/qd8-q4r16-gemm/driver.h"
#include "sdk/kernels/qd8-q4r16-gemm/qd8-q4r16-gemm.h"
#include "sdk/kernels/simd/avx2-util.h"
#include "sdk/kernels/simd/touch.h"

namespace kite::kernels::qd8_q4r16 {

// The dot-step policy D of Ymm<D> provides:
//   static constexpr size_t kTokenTile;      // tokens per prefill tile
//   static constexpr bool kSymOffsetTerm;    // offset-free layout: -8 d enters as the offset
//                                            // (true) or ToFloat subtracts 8 xsum (false)
//   static __m256i Start();                  // a chain's starting value
//   static __m256i Add(__m256i s, __m256i u, __m256i x);
//                                            // s += nibbles u times the 4 bytes x, per row lane
//   template <bool kSym> static __m256 ToFloat(__m256i s, int32_t xsum);
//                                            // a chain's 8 row dot products as floats
//   template <size_t T, class F> static void GroupChains(const uint8_t* blk, size_t h,
//       const int8_t* x, size_t x_stride, F&& consume);
//                                            // calls consume(t, chain) for t < T: half h of
//                                            // group block blk times token t's 32 bytes at
//                                            // x + t * x_stride, in the ISA's best order

// Groups whose xscale * xsum products are computed at once into a stack buffer.
constexpr size_t kGroupChunk = 64;

// xsx[t][g] = xscale[t][g0 + g] * xsum[t][g0 + g] for g < gn.
template <size_t T>
inline void ScaledSums(size_t groups, size_t g0, size_t gn, const float* xscale,
                       const int32_t* xsum, float (*xsx)[kGroupChunk]) {
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

// The 8 scales (d) and offsets (o; -8 d for the offset-free layout) of half h of a block.
inline __m256 HalfScales(const uint8_t* blk, size_t h) {
  return _mm256_cvtph_ps(
      _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + kQ4R16ScalesOffset + h * 16)));
}
template <bool kSym>
inline __m256 HalfOffsets(const uint8_t* blk, size_t h, __m256 d) {
  return kSym ? _mm256_mul_ps(d, _mm256_set1_ps(-8.0f))
              : _mm256_cvtph_ps(_mm_loadu_si128(
                    reinterpret_cast<const __m128i*>(blk + kQ4R16OffsetsOffset + h * 16)));
}

// One token's two 8-row halves of one group block: for each 64-byte slice p and half h,
// s[h] = add(s[h], map(low nibbles), x_lo) then add(s[h], map(high nibbles), x_hi), where
// x_lo / x_hi broadcast the token's bytes p*4.. and 16+p*4.. (the order of HalfBlockTile's
// and HalfTile's chains). `map` turns masked nibbles into the dot step's operand (identity
// for the uniform layouts, the codebook lookup for Q4_R16_G32_CB).
template <class Map, class Add>
inline void BothHalvesChains(const uint8_t* blk, const int8_t* xg, Map map, Add add,
                             __m256i s[2]) {
  const __m256i nibble_mask = _mm256_set1_epi8(0x0F);
#pragma GCC unroll 4
  for (size_t p = 0; p < 4; ++p) {
    const __m256i x_lo = Broadcast4Avx2(xg + p * 4);
    const __m256i x_hi = Broadcast4Avx2(xg + 16 + p * 4);
#pragma GCC unroll 2
    for (size_t h = 0; h < 2; ++h) {
      const __m256i v =
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + p * 64 + h * 32));
      s[h] = add(s[h], map(_mm256_and_si256(v, nibble_mask)), x_lo);
      s[h] = add(s[h], map(_mm256_and_si256(_mm256_srli_epi16(v, 4), nibble_mask)), x_hi);
    }
  }
}

// Policy of qd8_q4r16::Gemm built from the dot step D.
template <class D>
struct Ymm {
  static constexpr size_t kTokenTile = D::kTokenTile;

  // One token (decode): both 8-row halves in the same pass, so every block is read once
  // from memory, with separate chains per half and for the scale and offset terms.
  template <bool kSym>
  static void OneToken(size_t groups, const uint8_t* wb, const int8_t* x, const float* xscale,
                       const int32_t* xsum, float* y, size_t n, const uint8_t* next) {
    constexpr bool kOffsetTerm = !kSym || D::kSymOffsetTerm;
    __m256 acc_d[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
    __m256 acc_o[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
    for (size_t g = 0; g < groups; ++g) {
      const uint8_t* blk = wb + g * kBlockBytesOf<kSym>;
      if (next != nullptr) PrefetchBytesX86(next + g * kBlockBytesOf<kSym>, kQ4R16BlockBytes);
      const int8_t* xg = x + g * kQ4R16GroupSize;
      TouchChunkAt(x, g * kQ4R16GroupSize, groups * kQ4R16GroupSize);
      __m256i s[2] = {D::Start(), D::Start()};
      BothHalvesChains(
          blk, xg, [](__m256i u) { return u; },
          [](__m256i a, __m256i u, __m256i xb) { return D::Add(a, u, xb); }, s);
      const __m256 xs = _mm256_set1_ps(xscale[g]);
      const __m256 xsx = _mm256_set1_ps(xscale[g] * static_cast<float>(xsum[g]));
#pragma GCC unroll 2
      for (size_t h = 0; h < 2; ++h) {
        const __m256 d = HalfScales(blk, h);
        const __m256 dot = D::template ToFloat<kSym>(s[h], xsum[g]);
        acc_d[h] = _mm256_fmadd_ps(_mm256_mul_ps(dot, xs), d, acc_d[h]);
        if (kOffsetTerm) acc_o[h] = _mm256_fmadd_ps(HalfOffsets<kSym>(blk, h, d), xsx, acc_o[h]);
      }
    }
    StoreLanesAvx2(y, _mm256_add_ps(acc_d[0], acc_o[0]), n < 8 ? n : 8);
    if (n > 8) StoreLanesAvx2(y + 8, _mm256_add_ps(acc_d[1], acc_o[1]), n - 8);
  }

  // y[t][r] for T tokens and the 8 rows of half `h` of one block; `n` rows (<= 8) stored.
  template <bool kSym, size_t T>
  static void HalfBlockTile(size_t groups, const uint8_t* wb, size_t h, const int8_t* xq,
                            const float* xscale, const int32_t* xsum, float* y, size_t y_stride,
                            size_t n, const uint8_t* next) {
    constexpr bool kOffsetTerm = !kSym || D::kSymOffsetTerm;
    const size_t x_stride = groups * kQ4R16GroupSize;
    __m256 acc[T];
#pragma GCC unroll 8
    for (size_t t = 0; t < T; ++t) acc[t] = _mm256_setzero_ps();
    alignas(32) float xsx[T][kGroupChunk];

    for (size_t g0 = 0; g0 < groups; g0 += kGroupChunk) {
      const size_t gn = groups - g0 < kGroupChunk ? groups - g0 : kGroupChunk;
      if (kOffsetTerm) ScaledSums<T>(groups, g0, gn, xscale, xsum, xsx);
      for (size_t g = 0; g < gn; ++g) {
        const uint8_t* blk = wb + (g0 + g) * kBlockBytesOf<kSym>;
        if (next != nullptr) {
          PrefetchBytesX86(next + (g0 + g) * kBlockBytesOf<kSym>, kQ4R16BlockBytes);
        }
        const __m256 d = HalfScales(blk, h);
        const __m256 o = kOffsetTerm ? HalfOffsets<kSym>(blk, h, d) : _mm256_setzero_ps();
        D::template GroupChains<T>(
            blk, h, xq + (g0 + g) * kQ4R16GroupSize, x_stride, [&](size_t t, __m256i s) {
              const __m256 dot = D::template ToFloat<kSym>(s, xsum[t * groups + g0 + g]);
              const __m256 sx = _mm256_mul_ps(dot, _mm256_set1_ps(xscale[t * groups + g0 + g]));
              acc[t] = _mm256_fmadd_ps(sx, d, acc[t]);
              if (kOffsetTerm) acc[t] = _mm256_fmadd_ps(o, _mm256_set1_ps(xsx[t][g]), acc[t]);
            });
      }
    }
    for (size_t t = 0; t < T; ++t) StoreLanesAvx2(y + t * y_stride, acc[t], n);
  }

  template <bool kSym, size_t T>
  static void Tile(size_t groups, const uint8_t* wb, const int8_t* xq, const float* xscale,
                   const int32_t* xsum, float* y, size_t y_stride, size_t n,
                   const uint8_t* next) {
    if constexpr (T == 1) {
      OneToken<kSym>(groups, wb, xq, xscale, xsum, y, n, next);
    } else {
      HalfBlockTile<kSym, T>(groups, wb, 0, xq, xscale, xsum, y, y_stride, n < 8 ? n : 8, next);
      if (n > 8) {
        HalfBlockTile<kSym, T>(groups, wb, 1, xq, xscale, xsum, y + 8, y_stride, n - 8, nullptr);
      }
    }
  }
};

// Policy of qd8_q4r16::GemmCb (the codebook layout Q4_R16_G32_CB) built from the codebook
// dot step C, which provides:
//   static constexpr size_t kTokenTile;
//   static __m256i Table(const int8_t* codebook);  // the entries in C's byte form, in both
//                                                   // 128-bit lanes (for vpshufb)
//   static __m256i Start(int32_t xsum);            // a chain's start for a group of xsum
//   static __m256i Add(__m256i s, __m256i w, __m256i x);
//                                                  // s += entries w (as Table gives them)
//                                                  // times the 4 bytes x, per row lane, int32
// A chain's final value is the group's exact sum codebook[u] * xq per row.
template <class C>
struct YmmCb {
  static constexpr size_t kTokenTile = C::kTokenTile;

  // y[t][r] for T tokens and the 8 rows of half `h` of one block; `n` rows (<= 8) stored.
  // Each group's half block is looked up once for all T tokens.
  template <size_t T>
  static void HalfTile(size_t groups, const uint8_t* wb, size_t h, __m256i table,
                       const int8_t* xq, const float* xscale, const int32_t* xsum, float* y,
                       size_t y_stride, size_t n, const uint8_t* next) {
    const __m256i nibble_mask = _mm256_set1_epi8(0x0F);
    const size_t x_stride = groups * kQ4R16GroupSize;
    __m256 acc[T];
#pragma GCC unroll 8
    for (size_t t = 0; t < T; ++t) acc[t] = _mm256_setzero_ps();
    for (size_t g = 0; g < groups; ++g) {
      const uint8_t* blk = wb + g * kQ4R16SymBlockBytes;
      if (next != nullptr) PrefetchBytesX86(next + g * kQ4R16SymBlockBytes, kQ4R16SymBlockBytes);
      // Slice p holds per row columns p*4..p*4+3 (low nibbles) and 16+p*4..16+p*4+3 (high).
      __m256i w[8];
#pragma GCC unroll 4
      for (size_t p = 0; p < 4; ++p) {
        const __m256i v =
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + p * 64 + h * 32));
        w[p] = _mm256_shuffle_epi8(table, _mm256_and_si256(v, nibble_mask));
        w[4 + p] =
            _mm256_shuffle_epi8(table, _mm256_and_si256(_mm256_srli_epi16(v, 4), nibble_mask));
      }
      const __m256 d = HalfScales(blk, h);
#pragma GCC unroll 8
      for (size_t t = 0; t < T; ++t) {
        const int8_t* x = xq + t * x_stride + g * kQ4R16GroupSize;
        __m256i s = C::Start(xsum[t * groups + g]);
#pragma GCC unroll 4
        for (size_t p = 0; p < 4; ++p) {
          s = C::Add(s, w[p], Broadcast4Avx2(x + p * 4));
          s = C::Add(s, w[4 + p], Broadcast4Avx2(x + 16 + p * 4));
        }
        const __m256 sx =
            _mm256_mul_ps(_mm256_cvtepi32_ps(s), _mm256_set1_ps(xscale[t * groups + g]));
        acc[t] = _mm256_fmadd_ps(sx, d, acc[t]);
      }
    }
    for (size_t t = 0; t < T; ++t) StoreLanesAvx2(y + t * y_stride, acc[t], n);
  }

  // One token (decode): both 8-row halves of a group in the same pass, so they share the 8
  // activation broadcasts (and whatever C derives from them, e.g. their magnitudes), and
  // every block is read once. Each half's chain and the float operations after it are
  // HalfTile<1>'s, in the same order, so the results are bit-identical.
  static void OneToken(size_t groups, const uint8_t* wb, __m256i table, const int8_t* x,
                       const float* xscale, const int32_t* xsum, float* y, size_t n,
                       const uint8_t* next) {
    __m256 acc[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
    for (size_t g = 0; g < groups; ++g) {
      const uint8_t* blk = wb + g * kQ4R16SymBlockBytes;
      if (next != nullptr) PrefetchBytesX86(next + g * kQ4R16SymBlockBytes, kQ4R16SymBlockBytes);
      const int8_t* xg = x + g * kQ4R16GroupSize;
      TouchChunkAt(x, g * kQ4R16GroupSize, groups * kQ4R16GroupSize);
      __m256i s[2] = {C::Start(xsum[g]), C::Start(xsum[g])};
      BothHalvesChains(
          blk, xg, [table](__m256i u) { return _mm256_shuffle_epi8(table, u); },
          [](__m256i a, __m256i w, __m256i xb) { return C::Add(a, w, xb); }, s);
      const __m256 xs = _mm256_set1_ps(xscale[g]);
#pragma GCC unroll 2
      for (size_t h = 0; h < 2; ++h) {
        const __m256 sx = _mm256_mul_ps(_mm256_cvtepi32_ps(s[h]), xs);
        acc[h] = _mm256_fmadd_ps(sx, HalfScales(blk, h), acc[h]);
      }
    }
    StoreLanesAvx2(y, acc[0], n < 8 ? n : 8);
    if (n > 8) StoreLanesAvx2(y + 8, acc[1], n - 8);
  }

  template <size_t T>
  static void TileCb(size_t groups, const uint8_t* wb, const int8_t* codebook, const int8_t* xq,
                     const float* xscale, const int32_t* xsum, float* y, size_t y_stride,
                     size_t n, const uint8_t* next) {
    const __m256i table = C::Table(codebook);
    if constexpr (T == 1) {
      OneToken(groups, wb, table, xq, xscale, xsum, y, n, next);
    } else {
      HalfTile<T>(groups, wb, 0, table, xq, xscale, xsum, y, y_stride, n < 8 ? n : 8, next);
      if (n > 8) {
        HalfTile<T>(groups, wb, 1, table, xq, xscale, xsum, y + 8, y_stride, n - 8, nullptr);
      }
    }
  }
};

}  // namespace kite::kernels::qd8_q4r16

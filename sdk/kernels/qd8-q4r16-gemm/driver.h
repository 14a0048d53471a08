// The driver of every optimized qd8-q4r16-gemm variant: the shared loop of
// sdk/kernels/simd/gemm-driver.h (16-row blocks, token tiles, a narrower last tile, the
// prefetch of the next block row) over the variant's tile.
//
// An ISA file defines a policy struct (the inner step) in its anonymous namespace and calls
// qd8_q4r16::Gemm<Policy, kSym> from its entry points. The template is instantiated in that
// file, with that file's ISA flags, and (its policy having internal linkage) is never merged
// with another file's copy at link time. Include only from the ISA files.
#pragma once

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "sdk/kernels/qd8-q4r16-gemm/qd8-q4r16-gemm.h"
#include "sdk/kernels/simd/gemm-driver.h"

namespace kite::kernels::qd8_q4r16 {

/// Bytes per block: Q4_R16_G32, or the offset-free Q4_R16_G32_SYM (kSym: w = d (u - 8)).
template <bool kSym>
inline constexpr size_t kBlockBytesOf = kSym ? kQ4R16SymBlockBytes : kQ4R16BlockBytes;

// The policy P of Gemm provides:
//   static constexpr size_t kTokenTile;  // tokens per full tile, >= 1
//   static constexpr size_t kTileRows;   // optional: rows per tile, a multiple of 16 (the
//                                        // tile's blocks are back to back); 16 if absent
//   template <bool kSym, size_t T>       // 1 <= T <= kTokenTile
//   static void Tile(size_t groups, const uint8_t* wb, const int8_t* xq, const float* xscale,
//                    const int32_t* xsum, float* y, size_t y_stride, size_t n,
//                    const uint8_t* next);
// Tile writes y[t * y_stride + r] for T tokens (xq, xscale, xsum at their first token, as in
// the family contract) and the first n rows (1 <= n <= kTileRows) of the block row at wb
// (kTileRows / 16 consecutive 16-row block rows of `groups` blocks each; the last ones
// absent when n is smaller); when `next` is not null it may prefetch that block row (the
// next one).

/// Rows per tile of policy P: P::kTileRows, or one 16-row block when P does not define it.
template <class P, class = void>
struct TileRowsOf : std::integral_constant<size_t, kQ4R16BlockRows> {};
template <class P>
struct TileRowsOf<P, std::void_t<decltype(P::kTileRows)>>
    : std::integral_constant<size_t, P::kTileRows> {
  static_assert(P::kTileRows % kQ4R16BlockRows == 0, "whole 16-row blocks");
};

/// The product of the family contract (qd8-q4r16-gemm.h) for layout kSym, through policy P.
template <class P, bool kSym>
void Gemm(size_t m, size_t rows, size_t groups, const uint8_t* w, const int8_t* xq,
          const float* xscale, const int32_t* xsum, float* y, size_t y_stride) {
  assert(m >= 1 && rows >= 1 && groups >= 1);
  assert(w != nullptr && xq != nullptr && xscale != nullptr && xsum != nullptr);
  assert(y != nullptr && y_stride >= rows);
  const size_t x_stride = groups * kQ4R16GroupSize;
  constexpr size_t kRows = TileRowsOf<P>::value;
  gemm_driver::ForEachTile<P::kTokenTile, kRows>(
      m, rows, kRows / kQ4R16BlockRows * groups * kBlockBytesOf<kSym>, w,
      [&](auto tokens, const uint8_t* wb, size_t t, size_t r0, size_t n, const uint8_t* next) {
        P::template Tile<kSym, decltype(tokens)::value>(
            groups, wb, xq + t * x_stride, xscale + t * groups, xsum + t * groups,
            y + r0 + t * y_stride, y_stride, n, next);
      });
}

// A policy with a codebook layout (Q4_R16_G32_CB) also provides
//   template <size_t T>
//   static void TileCb(size_t groups, const uint8_t* wb, const int8_t* codebook,
//                      const int8_t* xq, const float* xscale, const int32_t* xsum, float* y,
//                      size_t y_stride, size_t n, const uint8_t* next);
// with the same contract as Tile (kTileRows included) over Q4_R16_G32_CB blocks
// (Qd8Q4r16CbGemm).

/// The product of Qd8Q4r16CbGemm (qd8-q4r16-gemm.h) through policy P.
template <class P>
void GemmCb(size_t m, size_t rows, size_t groups, const uint8_t* w, const int8_t* codebook,
            const int8_t* xq, const float* xscale, const int32_t* xsum, float* y,
            size_t y_stride) {
  assert(m >= 1 && rows >= 1 && groups >= 1 && codebook != nullptr);
  assert(w != nullptr && xq != nullptr && xscale != nullptr && xsum != nullptr);
  assert(y != nullptr && y_stride >= rows);
  const size_t x_stride = groups * kQ4R16GroupSize;
  constexpr size_t kRows = TileRowsOf<P>::value;
  gemm_driver::ForEachTile<P::kTokenTile, kRows>(
      m, rows, kRows / kQ4R16BlockRows * groups * kQ4R16SymBlockBytes, w,
      [&](auto tokens, const uint8_t* wb, size_t t, size_t r0, size_t n, const uint8_t* next) {
        P::template TileCb<decltype(tokens)::value>(
            groups, wb, codebook, xq + t * x_stride, xscale + t * groups, xsum + t * groups,
            y + r0 + t * y_stride, y_stride, n, next);
      });
}

}  // namespace kite::kernels::qd8_q4r16

/// Defines qd8_q4r16_gemm_<isa> and qd8_q4r16sym_gemm_<isa> (qd8-q4r16-gemm.h) through the
/// policy P: an ISA file's two entry points. Use inside namespace kite::kernels.
#define KITE_QD8_Q4R16_GEMM_VARIANTS(isa, P)                                                 \
  void qd8_q4r16_gemm_##isa(size_t m, size_t rows, size_t groups, const uint8_t* w,          \
                            const int8_t* xq, const float* xscale, const int32_t* xsum,      \
                            float* y, size_t y_stride) {                                     \
    qd8_q4r16::Gemm<P, false>(m, rows, groups, w, xq, xscale, xsum, y, y_stride);            \
  }                                                                                          \
  void qd8_q4r16sym_gemm_##isa(size_t m, size_t rows, size_t groups, const uint8_t* w,       \
                               const int8_t* xq, const float* xscale, const int32_t* xsum,   \
                               float* y, size_t y_stride) {                                  \
    qd8_q4r16::Gemm<P, true>(m, rows, groups, w, xq, xscale, xsum, y, y_stride);             \
  }

/// Defines qd8_q4r16cb_gemm_<isa> (qd8-q4r16-gemm.h) through the policy P (with TileCb).
#define KITE_QD8_Q4R16CB_GEMM_VARIANT(isa, P)                                                \
  void qd8_q4r16cb_gemm_##isa(size_t m, size_t rows, size_t groups, const uint8_t* w,        \
                              const int8_t* codebook, const int8_t* xq, const float* xscale, \
                              const int32_t* xsum, float* y, size_t y_stride) {              \
    qd8_q4r16::GemmCb<P>(m, rows, groups, w, codebook, xq, xscale, xsum, y, y_stride);       \
  }

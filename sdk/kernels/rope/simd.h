// rope over a lane type (F32x8 / F32x16 of sdk/kernels/simd/lanes.h): per call, cos/sin of
// the head_dim / 2 angles with libm (as the reference), laid out per lane, then every head
// rotated kLanes / 2 pairs per vector. Instantiate only from an ISA file with that file's lane
// type (internal linkage, built with its flags, which include -ffp-contract=off).
#pragma once

#include <cassert>
#include <cstddef>

#include "sdk/kernels/rope/lane-table.h"

namespace kite::kernels {

/// The contract of RopeFn (rope.h), bit-identical to rope_ref.
template <class V>
static inline void RopeSimd(size_t n_heads, size_t head_dim, size_t pos, float theta,
                            float* x) {
  assert(head_dim % 2 == 0 && (n_heads == 0 || x != nullptr));
  using Vec = typename V::Vec;
  constexpr size_t kLanes = V::kLanes;
  // Angles are tabulated for up to kChunk lanes of a head at a time (stack only).
  constexpr size_t kChunk = 256;
  alignas(64) float cos_lane[kChunk];  // {c0, c0, c1, c1, ...}
  alignas(64) float sin_lane[kChunk];  // {-s0, s0, -s1, s1, ...}
  // (v0, v1) -> (v0 c - v1 s, v1 c + v0 s): x * cos_lane + pair_swap(x) * sin_lane with
  // separate multiplies and adds, which is the reference's arithmetic exactly.
  const auto rotate = [&](Vec xv, size_t j) {
    return V::Add(V::Mul(xv, V::Load(cos_lane + j)),
                  V::Mul(V::SwapPairs(xv), V::Load(sin_lane + j)));
  };
  for (size_t d0 = 0; d0 < head_dim; d0 += kChunk) {
    const size_t len = head_dim - d0 < kChunk ? head_dim - d0 : kChunk;
    RopeLaneTable(head_dim, pos, theta, d0, len, kLanes, cos_lane, sin_lane);
    for (size_t h = 0; h < n_heads; ++h) {
      float* v = x + h * head_dim + d0;
      size_t j = 0;
      for (; j + kLanes <= len; j += kLanes) V::Store(v + j, rotate(V::Load(v + j), j));
      if (j < len) {
        const typename V::Tail m = V::TailOf(len - j);
        V::StoreTail(m, v + j, rotate(V::LoadTail(m, v + j), j));
      }
    }
  }
}

}  // namespace kite::kernels

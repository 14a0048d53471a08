// The angle table of the x86 rope variants (rope/simd.h), laid out per lane. Include only
// from those variants: static inline, so each gets its own copy built with its own flags
// (-ffp-contract=off, like the reference).
#pragma once

#include <cstddef>

#include "sdk/kernels/rope/angle.h"

namespace kite::kernels {

/// For the len (even) lanes d0..d0 + len - 1 of a head of head_dim floats at position pos:
/// cos_lane = {c0, c0, c1, c1, ...} and sin_lane = {-s0, s0, -s1, s1, ...} with the angles
/// computed with libm exactly as the reference; then zeros up to a multiple of `width`
/// lanes (read by a vector tail, never stored). Rotating (v0, v1) is then
/// x * cos_lane + pair_swap(x) * sin_lane.
static inline void RopeLaneTable(size_t head_dim, size_t pos, float theta, size_t d0, size_t len,
                                 size_t width, float* cos_lane, float* sin_lane) {
  for (size_t i = 0; i < len; i += 2) {
    float c, s;
    RopeCosSin(pos, RopeFrequency((d0 + i) / 2, head_dim, theta), &c, &s);
    cos_lane[i] = c;
    cos_lane[i + 1] = c;
    sin_lane[i] = -s;
    sin_lane[i + 1] = s;
  }
  for (size_t i = len; i % width != 0; ++i) cos_lane[i] = sin_lane[i] = 0.0f;
}

}  // namespace kite::kernels

// The float operations that give each RoPE pair its rotation, shared by every CPU variant
// and by the tables other backends read (RopeCosSinTable): one definition, so they all
// rotate by the same cosines and sines bit for bit. static inline: each ISA file gets its
// own copy built with its own flags (no ODR clash between differently compiled copies).
#pragma once

#include <math.h>

#include <cstddef>

namespace kite::kernels {

/// Inverse frequency of pair `pair` of a head of `head_dim` floats, in radians per position:
/// 1 / theta^(2 pair / head_dim), in float.
static inline float RopeFrequency(size_t pair, size_t head_dim, float theta) {
  return 1.0f / powf(theta, static_cast<float>(2 * pair) / static_cast<float>(head_dim));
}

/// Cosine and sine of the angle float(pos) * inv_freq, with libm's cosf and sinf.
static inline void RopeCosSin(size_t pos, float inv_freq, float* c, float* s) {
  const float angle = static_cast<float>(pos) * inv_freq;
  *c = cosf(angle);
  *s = sinf(angle);
}

}  // namespace kite::kernels

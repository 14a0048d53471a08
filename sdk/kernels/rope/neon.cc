// rope, NEON (aarch64 and armv7): per call, cos/sin of the head_dim / 2 angles with libm (as
// the reference), then every head rotated 4 pairs per step (vld2 splits even and odd
// elements). Compiled with -ffp-contract=off: separate multiplies and adds, the
// reference's arithmetic exactly.
#include <arm_neon.h>

#include <cassert>

#include "sdk/kernels/rope/angle.h"
#include "sdk/kernels/rope/rope.h"

namespace kite::kernels {

void rope_neon(size_t n_heads, size_t head_dim, size_t pos, float theta, float* x) {
  assert(head_dim % 2 == 0 && (n_heads == 0 || x != nullptr));
  // Angles are tabulated for up to kChunk pairs of a head at a time (2 KB of stack).
  constexpr size_t kChunk = 256;
  float cos_t[kChunk];
  float sin_t[kChunk];
  const size_t pairs = head_dim / 2;
  for (size_t p0 = 0; p0 < pairs; p0 += kChunk) {
    const size_t len = pairs - p0 < kChunk ? pairs - p0 : kChunk;
    for (size_t i = 0; i < len; ++i) {
      RopeCosSin(pos, RopeFrequency(p0 + i, head_dim, theta), &cos_t[i], &sin_t[i]);
    }
    for (size_t h = 0; h < n_heads; ++h) {
      float* v = x + h * head_dim + 2 * p0;
      size_t i = 0;
      for (; i + 4 <= len; i += 4) {
        const float32x4x2_t xv = vld2q_f32(v + 2 * i);
        const float32x4_t c = vld1q_f32(cos_t + i);
        const float32x4_t s = vld1q_f32(sin_t + i);
        float32x4x2_t r;
        r.val[0] = vsubq_f32(vmulq_f32(xv.val[0], c), vmulq_f32(xv.val[1], s));
        r.val[1] = vaddq_f32(vmulq_f32(xv.val[0], s), vmulq_f32(xv.val[1], c));
        vst2q_f32(v + 2 * i, r);
      }
      for (; i < len; ++i) {
        const float v0 = v[2 * i];
        const float v1 = v[2 * i + 1];
        v[2 * i] = v0 * cos_t[i] - v1 * sin_t[i];
        v[2 * i + 1] = v0 * sin_t[i] + v1 * cos_t[i];
      }
    }
  }
}

}  // namespace kite::kernels

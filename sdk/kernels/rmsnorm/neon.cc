// rmsnorm, NEON (aarch64 and armv7): sum of squares in 8 lanes, then the reference's
// scaling arithmetic (weight * (inv * x)) 4 floats at a time.
#include <arm_neon.h>
#include <math.h>

#include "sdk/kernels/rmsnorm/rmsnorm.h"
#include "sdk/kernels/simd/neon-util.h"

namespace kite::kernels {

void rmsnorm_neon(size_t n, const float* x, const float* weight, float eps, float* out) {
  float32x4_t s0 = vdupq_n_f32(0.0f), s1 = vdupq_n_f32(0.0f);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const float32x4_t a = vld1q_f32(x + i);
    const float32x4_t b = vld1q_f32(x + i + 4);
    s0 = vmlaq_f32(s0, a, a);
    s1 = vmlaq_f32(s1, b, b);
  }
  float ss = ReduceAddNeon(vaddq_f32(s0, s1));
  for (; i < n; ++i) ss += x[i] * x[i];
  const float inv = 1.0f / sqrtf(ss / static_cast<float>(n) + eps);
  const float32x4_t vinv = vdupq_n_f32(inv);
  i = 0;
  for (; i + 4 <= n; i += 4) {
    vst1q_f32(out + i, vmulq_f32(vld1q_f32(weight + i), vmulq_f32(vinv, vld1q_f32(x + i))));
  }
  for (; i < n; ++i) out[i] = weight[i] * (inv * x[i]);
}

}  // namespace kite::kernels

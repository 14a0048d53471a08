// softmax, NEON (aarch64 and armv7): vector max, polynomial exp (sdk/kernels/simd/) with a
// blocked sum, then one scaling pass.
#include <arm_neon.h>
#include <math.h>

#include <cassert>

#include "sdk/kernels/simd/f32-exp-neon.h"
#include "sdk/kernels/simd/neon-util.h"
#include "sdk/kernels/softmax/softmax.h"

namespace kite::kernels {

void softmax_neon(size_t n, float* x) {
  assert(n > 0 && x != nullptr);
  float max = x[0];
  size_t i = 0;
  if (n >= 4) {
    float32x4_t vmax = vld1q_f32(x);
    for (i = 4; i + 4 <= n; i += 4) vmax = vmaxq_f32(vmax, vld1q_f32(x + i));
    max = ReduceMaxNeon(vmax);
  }
  for (; i < n; ++i) max = x[i] > max ? x[i] : max;

  const float32x4_t vmax = vdupq_n_f32(max);
  float32x4_t s0 = vdupq_n_f32(0.0f), s1 = vdupq_n_f32(0.0f);
  i = 0;
  for (; i + 8 <= n; i += 8) {
    const float32x4_t a = ExpNeon(vsubq_f32(vld1q_f32(x + i), vmax));
    const float32x4_t b = ExpNeon(vsubq_f32(vld1q_f32(x + i + 4), vmax));
    vst1q_f32(x + i, a);
    vst1q_f32(x + i + 4, b);
    s0 = vaddq_f32(s0, a);
    s1 = vaddq_f32(s1, b);
  }
  if (i < n) {
    // The tail through a padded vector, so every element uses the same exp.
    float tmp[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    const size_t rest = n - i;
    for (size_t k = 0; k < rest; ++k) tmp[k] = x[i + k] - max;
    for (size_t k = rest; k < 8; ++k) tmp[k] = -INFINITY;  // e^-inf = 0: adds nothing
    const float32x4_t a = ExpNeon(vld1q_f32(tmp));
    const float32x4_t b = ExpNeon(vld1q_f32(tmp + 4));
    vst1q_f32(tmp, a);
    vst1q_f32(tmp + 4, b);
    for (size_t k = 0; k < rest; ++k) x[i + k] = tmp[k];
    s0 = vaddq_f32(s0, a);
    s1 = vaddq_f32(s1, b);
  }
  const float sum = ReduceAddNeon(vaddq_f32(s0, s1));
  const float32x4_t vinv = vdupq_n_f32(1.0f / sum);
  i = 0;
  for (; i + 4 <= n; i += 4) vst1q_f32(x + i, vmulq_f32(vld1q_f32(x + i), vinv));
  const float inv = 1.0f / sum;
  for (; i < n; ++i) x[i] *= inv;
}

}  // namespace kite::kernels

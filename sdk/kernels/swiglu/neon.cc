// swiglu, NEON (aarch64 and armv7): gate / (1 + e^-gate) * up, 8 floats per step (two
// independent 4-lane chains), with the polynomial exp of simd/f32-exp-neon.h and DivNeon.
// The last n % 4 floats go through the same arithmetic in a zero-padded vector.
#include <arm_neon.h>

#include <cassert>

#include "sdk/kernels/simd/f32-exp-neon.h"
#include "sdk/kernels/simd/neon-util.h"
#include "sdk/kernels/swiglu/swiglu.h"

namespace kite::kernels {
namespace {

float32x4_t Swiglu4(float32x4_t g, float32x4_t u) {
  const float32x4_t e = ExpNeon(vnegq_f32(g));
  return vmulq_f32(DivNeon(g, vaddq_f32(vdupq_n_f32(1.0f), e)), u);
}

}  // namespace

void swiglu_neon(size_t n, float* gate, const float* up) {
  assert(n == 0 || (gate != nullptr && up != nullptr));
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const float32x4_t a = Swiglu4(vld1q_f32(gate + i), vld1q_f32(up + i));
    const float32x4_t b = Swiglu4(vld1q_f32(gate + i + 4), vld1q_f32(up + i + 4));
    vst1q_f32(gate + i, a);
    vst1q_f32(gate + i + 4, b);
  }
  for (; i + 4 <= n; i += 4) vst1q_f32(gate + i, Swiglu4(vld1q_f32(gate + i), vld1q_f32(up + i)));
  if (i < n) {
    float g[4] = {0.0f, 0.0f, 0.0f, 0.0f}, u[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    for (size_t k = 0; k < n - i; ++k) {
      g[k] = gate[i + k];
      u[k] = up[i + k];
    }
    StoreLanesNeon(gate + i, Swiglu4(vld1q_f32(g), vld1q_f32(u)), n - i);
  }
}

}  // namespace kite::kernels

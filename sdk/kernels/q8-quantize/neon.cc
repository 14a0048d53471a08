// q8-quantize, NEON (aarch64 and armv7): 16 floats per step; bit-identical to ref.
//
// The group maximum of |x| is taken on the integer bit patterns (for non-NaN floats, the
// order of |x| is the order of its bits with the sign cleared; NaN patterns are zeroed so
// they are skipped like the reference's fmax skips them). That is exact whatever the
// vector unit does with denormals (armv7 NEON always flushes them to zero).
//
// Rounding x * inv to nearest-even and keeping the low byte reproduces the reference's
// static_cast<int8_t>(lrintf(...)): the products are at most ~127 in magnitude, or +-inf /
// NaN when 1 / scale overflows, and lrintf and the vector conversion both give 0 for NaN
// and a saturated value for +-inf (low byte 0xFF for +inf, 0x00 for -inf).
#include <arm_neon.h>
#include <math.h>

#include <cassert>
#include <cstring>

#include "sdk/kernels/q8-quantize/q8-quantize.h"
#include "sdk/kernels/simd/neon-util.h"

namespace kite::kernels {
namespace {

// round-to-nearest-even(x * inv) as int32 lanes.
inline int32x4_t RoundProduct(float32x4_t x, float32x4_t inv) {
  const float32x4_t v = vmulq_f32(x, inv);
#if defined(__aarch64__)
  return vcvtnq_s32_f32(v);
#else
  // armv7 has only a truncating conversion: adding and removing 1.5 * 2^23 rounds |v| <
  // 2^22 to an integer in the (fixed) round-to-nearest-even mode. NaN stays NaN and
  // converts to 0; +-inf stays +-inf and saturates, like lrintf's conversion.
  const float32x4_t magic = vdupq_n_f32(12582912.0f);
  return vcvtq_s32_f32(vsubq_f32(vaddq_f32(v, magic), magic));
#endif
}

}  // namespace

void q8_quantize_neon(size_t n, size_t group, const float* x, int8_t* q, float* scales,
                      int32_t* sums) {
  assert(group > 0 && group % 2 == 0);
  assert(n == 0 || (x != nullptr && q != nullptr && scales != nullptr && sums != nullptr));
  const uint32x4_t abs_mask = vdupq_n_u32(0x7FFFFFFF);
  const uint32x4_t inf_bits = vdupq_n_u32(0x7F800000);
  const size_t groups = (n + group - 1) / group;
  for (size_t g = 0; g < groups; ++g) {
    const size_t begin = g * group;
    const size_t len = n - begin < group ? n - begin : group;
    const float* xg = x + begin;
    int8_t* qg = q + begin;

    uint32x4_t vmax = vdupq_n_u32(0);
    size_t i = 0;
    for (; i + 4 <= len; i += 4) {
      const uint32x4_t a = vandq_u32(vreinterpretq_u32_f32(vld1q_f32(xg + i)), abs_mask);
      vmax = vmaxq_u32(vmax, vbicq_u32(a, vcgtq_u32(a, inf_bits)));  // NaN -> 0
    }
    uint32_t max_bits = vgetq_lane_u32(vmax, 0);
    for (size_t k = 1; k < 4; ++k) {
      const uint32_t b = k == 1 ? vgetq_lane_u32(vmax, 1)
                                : (k == 2 ? vgetq_lane_u32(vmax, 2) : vgetq_lane_u32(vmax, 3));
      max_bits = b > max_bits ? b : max_bits;
    }
    for (; i < len; ++i) {
      uint32_t b;
      std::memcpy(&b, xg + i, sizeof(b));
      b &= 0x7FFFFFFFu;
      if (b <= 0x7F800000u && b > max_bits) max_bits = b;
    }
    float amax;
    std::memcpy(&amax, &max_bits, sizeof(amax));
    const float scale = amax / 127.0f;
    const float inv = scale != 0.0f ? 1.0f / scale : 0.0f;
    scales[g] = scale;

#if defined(__aarch64__)
    const bool vector_ok = true;
#else
    // armv7 NEON flushes denormal inputs to zero; below this maximum a denormal x could
    // still round to a non-zero q, so such groups take the scalar path (the reference's).
    const bool vector_ok = amax >= 1e-30f;
#endif
    const float32x4_t vinv = vdupq_n_f32(inv);
    int32x4_t vsum = vdupq_n_s32(0);
    i = 0;
    if (vector_ok) {
      for (; i + 16 <= len; i += 16) {
        const int32x4_t a = RoundProduct(vld1q_f32(xg + i), vinv);
        const int32x4_t b = RoundProduct(vld1q_f32(xg + i + 4), vinv);
        const int32x4_t c = RoundProduct(vld1q_f32(xg + i + 8), vinv);
        const int32x4_t d = RoundProduct(vld1q_f32(xg + i + 12), vinv);
        // Truncating narrows keep the low byte, like the reference's int8 cast.
        const int16x8_t ab = vcombine_s16(vmovn_s32(a), vmovn_s32(b));
        const int16x8_t cd = vcombine_s16(vmovn_s32(c), vmovn_s32(d));
        const int8x16_t q8 = vcombine_s8(vmovn_s16(ab), vmovn_s16(cd));
        vst1q_s8(qg + i, q8);
        vsum = vpadalq_s16(vsum, vpaddlq_s8(q8));
      }
    }
    int32_t sum = ReduceAddS32Neon(vsum);
    for (; i < group; ++i) {
      qg[i] = i < len ? static_cast<int8_t>(lrintf(xg[i] * inv)) : 0;
      sum += qg[i];
    }
    sums[g] = sum;
  }
}

}  // namespace kite::kernels

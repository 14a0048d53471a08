// e^x for 4 floats with NEON (aarch64 and armv7), for softmax. Static inline: each kernel
// file compiles its own copy with its own flags.
#pragma once

#include <arm_neon.h>

namespace kite::kernels {

/// e^x per lane. x is clamped to [-104, 88.75] (e^-104 rounds to 0, e^88.75 overflows to
/// +inf in f32), NaN propagates. n = round(x / ln 2) and r = x - n ln 2 (ln 2 split in a high
/// part exact in f32 times any |n| <= 150 and a low part), so |r| <= 0.35; e^r is its Taylor
/// series to degree 7 (truncation error < 6e-9 relative), and 2^n is applied as two
/// exponent-field multiplies so that denormal results (n < -126) are formed by one final
/// rounding. A few ulp from the correctly rounded e^x (armv7 NEON flushes denormal results
/// to zero).
static inline float32x4_t ExpNeon(float32x4_t x) {
  x = vminq_f32(vmaxq_f32(x, vdupq_n_f32(-104.0f)), vdupq_n_f32(88.75f));
  const float32x4_t log2e = vdupq_n_f32(1.44269504088896341f);
  // Round to nearest by adding and removing 1.5 * 2^23 (|x / ln 2| < 151).
  const float32x4_t magic = vdupq_n_f32(12582912.0f);
  const float32x4_t nf = vsubq_f32(vaddq_f32(vmulq_f32(x, log2e), magic), magic);
  const float32x4_t ln2_hi = vdupq_n_f32(0.693145751953125f);  // 12 significant bits
  const float32x4_t ln2_lo = vdupq_n_f32(1.428606765330187e-06f);
  float32x4_t r = vmlsq_f32(x, nf, ln2_hi);
  r = vmlsq_f32(r, nf, ln2_lo);
  // Horner: 1 + r (1 + r/2 (1 + r/3 (... (1 + r/7)))).
  float32x4_t p = vdupq_n_f32(1.0f / 5040.0f);
  p = vmlaq_f32(vdupq_n_f32(1.0f / 720.0f), p, r);
  p = vmlaq_f32(vdupq_n_f32(1.0f / 120.0f), p, r);
  p = vmlaq_f32(vdupq_n_f32(1.0f / 24.0f), p, r);
  p = vmlaq_f32(vdupq_n_f32(1.0f / 6.0f), p, r);
  p = vmlaq_f32(vdupq_n_f32(0.5f), p, r);
  p = vmlaq_f32(vdupq_n_f32(1.0f), p, r);
  p = vmlaq_f32(vdupq_n_f32(1.0f), p, r);
  // 2^n = 2^n1 * 2^n2 with n1 = n / 2, each a normal float for n in [-150, 128].
  const int32x4_t n = vcvtq_s32_f32(nf);
  const int32x4_t n1 = vshrq_n_s32(n, 1);
  const int32x4_t n2 = vsubq_s32(n, n1);
  const int32x4_t bias = vdupq_n_s32(127);
  const float32x4_t s1 = vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(n1, bias), 23));
  const float32x4_t s2 = vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(n2, bias), 23));
  return vmulq_f32(vmulq_f32(p, s1), s2);
}

}  // namespace kite::kernels

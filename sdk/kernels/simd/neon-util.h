// Small NEON helpers shared by the Arm kernel files (aarch64, and armv7 with NEON + VFPv4).
// Every function is static inline, so each kernel file gets its own copy compiled with its
// own -march flags and nothing is merged across ISA files at link time.
#pragma once

#include <arm_neon.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace kite::kernels {

/// Tokens sharing one pass over a 16-row block in the plain-NEON 4-bit GEMM tiles: their
/// float accumulators (4 per token, one per quad of rows) must stay in registers beside a
/// quad's 8 weight (or weight and index) vectors: 32 vector registers on aarch64, 16 on armv7.
#if defined(__aarch64__)
inline constexpr size_t kNeonGemmTokenTile = 4;
#else
inline constexpr size_t kNeonGemmTokenTile = 2;
#endif

/// Four f16 values (IEEE binary16 bits, little-endian, no alignment) widened exactly to f32.
/// On armv7 the including file must be compiled with -mfp16-format=ieee.
static inline float32x4_t LoadHalf4Neon(const uint8_t* p) {
  return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(reinterpret_cast<const uint16_t*>(p))));
}

/// The 4 bytes at p (no alignment) repeated twice in an int8x8.
static inline int8x8_t Broadcast4x2Neon(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, sizeof(v));
  return vreinterpret_s8_s32(vdup_n_s32(v));
}

/// The 4 bytes at p (no alignment) repeated four times in an int8x16.
static inline int8x16_t Broadcast4x4Neon(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, sizeof(v));
  return vreinterpretq_s8_s32(vdupq_n_s32(v));
}

/// {a0 + a1, a2 + a3, b0 + b1, b2 + b3}.
static inline int32x4_t PairwiseAddNeon(int32x4_t a, int32x4_t b) {
#if defined(__aarch64__)
  return vpaddq_s32(a, b);
#else
  return vcombine_s32(vpadd_s32(vget_low_s32(a), vget_high_s32(a)),
                      vpadd_s32(vget_low_s32(b), vget_high_s32(b)));
#endif
}

/// a0 + a1 + a2 + a3 (in the order (a0 + a1) + (a2 + a3) on armv7, a tree on aarch64).
static inline float ReduceAddNeon(float32x4_t a) {
#if defined(__aarch64__)
  return vaddvq_f32(a);
#else
  const float32x2_t s = vadd_f32(vget_low_f32(a), vget_high_f32(a));
  return vget_lane_f32(vpadd_f32(s, s), 0);
#endif
}

/// Sum of the four int32 lanes.
static inline int32_t ReduceAddS32Neon(int32x4_t a) {
#if defined(__aarch64__)
  return vaddvq_s32(a);
#else
  const int32x2_t s = vadd_s32(vget_low_s32(a), vget_high_s32(a));
  return vget_lane_s32(vpadd_s32(s, s), 0);
#endif
}

/// Largest of the four lanes (vmaxq semantics: NaN propagates).
static inline float ReduceMaxNeon(float32x4_t a) {
#if defined(__aarch64__)
  return vmaxvq_f32(a);
#else
  const float32x2_t m = vmax_f32(vget_low_f32(a), vget_high_f32(a));
  return vget_lane_f32(vpmax_f32(m, m), 0);
#endif
}

/// a / b per lane. aarch64: the IEEE division (correctly rounded). armv7 (no vector divide):
/// a times the reciprocal estimate of b refined by two Newton steps, within 2 ulp of the
/// quotient for normal results. A divisor of magnitude >= 2^64 is scaled by 2^-64 first (and
/// the product by 2^-64 after), so its reciprocal, denormal for |b| > 2^126, is not flushed
/// to zero while the quotient is normal. b = +-inf gives +-0 (vrecps treats inf * 0 as 2),
/// b = 0 gives +-inf.
static inline float32x4_t DivNeon(float32x4_t a, float32x4_t b) {
#if defined(__aarch64__)
  return vdivq_f32(a, b);
#else
  const uint32x4_t big = vcageq_f32(b, vdupq_n_f32(0x1p64f));
  const float32x4_t s = vbslq_f32(big, vdupq_n_f32(0x1p-64f), vdupq_n_f32(1.0f));
  const float32x4_t bs = vmulq_f32(b, s);
  float32x4_t r = vrecpeq_f32(bs);
  r = vmulq_f32(r, vrecpsq_f32(bs, r));
  r = vmulq_f32(r, vrecpsq_f32(bs, r));
  return vmulq_f32(vmulq_f32(a, r), s);
#endif
}

/// Stores the first n (<= 4) lanes of v to y.
static inline void StoreLanesNeon(float* y, float32x4_t v, size_t n) {
  if (n >= 4) {
    vst1q_f32(y, v);
  } else {
    float tmp[4];
    vst1q_f32(tmp, v);
    for (size_t i = 0; i < n; ++i) y[i] = tmp[i];
  }
}

}  // namespace kite::kernels

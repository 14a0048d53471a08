// attention and attention_q8kv, NEON (aarch64, and armv7 with NEON + VFPv4): the driver
// (driver.h) over
// 4-float vectors, up to 32 output floats in registers per pass; int8 rows are widened to
// f32 4 at a time (reading exactly those 4 bytes).
#include <arm_neon.h>

#include <cstring>

#include "sdk/kernels/attention/attention.h"
#include "sdk/kernels/attention/driver.h"
#include "sdk/kernels/simd/neon-util.h"
#include "sdk/kernels/softmax/softmax.h"

namespace kite::kernels {
namespace {

struct Neon {
  using Vec = float32x4_t;
  using Tail = size_t;  // lanes
  static constexpr size_t kLanes = 4;
  // 8 accumulators of one set leave room for the loads in armv7's 16 q registers; up to 4
  // vectors get a second set (8 FMA chains).
  static constexpr int kMaxVecs = 8;
  static constexpr int kTwoSetVecs = 4;

  static Tail TailOf(size_t n) { return n; }
  static Vec Zero() { return vdupq_n_f32(0.0f); }
  static Vec Set1(float x) { return vdupq_n_f32(x); }
  static Vec Add(Vec a, Vec b) { return vaddq_f32(a, b); }
  static Vec Fma(Vec a, Vec b, Vec c) { return vfmaq_f32(c, a, b); }
  static Vec Load(const float* p) { return vld1q_f32(p); }
  static Vec Load(const int8_t* p) {
    int32_t bits;
    std::memcpy(&bits, p, sizeof(bits));
    const int16x8_t wide = vmovl_s8(vreinterpret_s8_s32(vdup_n_s32(bits)));
    return vcvtq_f32_s32(vmovl_s16(vget_low_s16(wide)));
  }
  static Vec LoadTail(Tail n, const float* p) {
    float tmp[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    for (size_t i = 0; i < n; ++i) tmp[i] = p[i];
    return vld1q_f32(tmp);
  }
  static Vec LoadTail(Tail n, const int8_t* p) {
    int8_t tmp[4] = {0, 0, 0, 0};
    for (size_t i = 0; i < n; ++i) tmp[i] = p[i];
    return Load(tmp);
  }
  static void Store(float* y, Vec v) { vst1q_f32(y, v); }
  static void StoreTail(Tail n, float* y, Vec v) { StoreLanesNeon(y, v, n); }
  static float Reduce(Vec v) { return ReduceAddNeon(v); }
  static void Reduce4(Vec a0, Vec a1, Vec a2, Vec a3, const float s[4], const float t[4],
                      float* y) {
#if defined(__aarch64__)
    const Vec sums = vpaddq_f32(vpaddq_f32(a0, a1), vpaddq_f32(a2, a3));
#else
    const float lanes[4] = {ReduceAddNeon(a0), ReduceAddNeon(a1), ReduceAddNeon(a2),
                            ReduceAddNeon(a3)};
    const Vec sums = vld1q_f32(lanes);
#endif
    vst1q_f32(y, vaddq_f32(vmulq_f32(sums, vld1q_f32(s)), vld1q_f32(t)));
  }
  static void Softmax(size_t n, float* x) { softmax_neon(n, x); }
  static float Half(uint16_t h) {
    return vgetq_lane_f32(vcvt_f32_f16(vreinterpret_f16_u16(vdup_n_u16(h))), 0);
  }
};

}  // namespace

void attention_neon(size_t head_dim, size_t n_pos, const float* q, const float* keys,
                    const float* values, size_t kv_stride, float scale, float* scores, float* out) {
  attention_driver::AttentionF32<Neon>(head_dim, n_pos, q, keys, values, kv_stride, scale,
                                       scores, out);
}

void attention_q8kv_neon(size_t head_dim, size_t n_pos, const float* q, const int8_t* keys,
                         const uint16_t* key_params, const int8_t* values,
                         const uint16_t* value_params, size_t kv_stride, size_t param_stride,
                         float scale, float* scores, float* out) {
  attention_driver::AttentionQ8kv<Neon>(head_dim, n_pos, q, keys, key_params, values,
                                        value_params, kv_stride, param_stride, scale, scores, out);
}

}  // namespace kite::kernels

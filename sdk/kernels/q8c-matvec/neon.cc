// q8c-matvec, NEON (aarch64 and armv7): int8 -> int16 -> int32 -> f32 (exact) and FMA, 8
// columns per step on 4 rows at once, zero-padded column tail (the shared walk and dot
// products of simd/matvec-neon.h), then the row scales.
#include <arm_neon.h>

#include <cassert>
#include <cstdint>

#include "sdk/kernels/q8c-matvec/q8c-matvec.h"
#include "sdk/kernels/simd/matvec-neon.h"

namespace kite::kernels {
namespace {

struct LoadQ8 {
  using Weight = int8_t;
  static void Load8(const int8_t* p, float32x4_t* lo, float32x4_t* hi) {
    const int16x8_t wide = vmovl_s8(vld1_s8(p));
    *lo = vcvtq_f32_s32(vmovl_s16(vget_low_s16(wide)));
    *hi = vcvtq_f32_s32(vmovl_s16(vget_high_s16(wide)));
  }
};

}  // namespace

void q8c_matvec_neon(size_t rows, size_t cols, const int8_t* w, const float* scales, const float* x,
                     float* y) {
  assert(w != nullptr && scales != nullptr && x != nullptr && y != nullptr);
  MatvecNeon<LoadQ8>(
      rows, cols, w, x, y,
      [scales](size_t t, size_t q) {
        const float s[4] = {scales[t], scales[t + q], scales[t + 2 * q], scales[t + 3 * q]};
        return vld1q_f32(s);
      },
      [scales](size_t r) { return scales[r]; });
}

}  // namespace kite::kernels

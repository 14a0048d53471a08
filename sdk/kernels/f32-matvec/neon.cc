// f32-matvec, NEON (aarch64 and armv7): 8 columns per step on 4 rows at once with FMA, a
// zero-padded column tail (the shared walk and dot products of simd/matvec-neon.h).
#include <arm_neon.h>

#include <cassert>

#include "sdk/kernels/f32-matvec/f32-matvec.h"
#include "sdk/kernels/simd/matvec-neon.h"

namespace kite::kernels {
namespace {

struct LoadF32 {
  using Weight = float;
  static void Load8(const float* p, float32x4_t* lo, float32x4_t* hi) {
    *lo = vld1q_f32(p);
    *hi = vld1q_f32(p + 4);
  }
};

}  // namespace

void f32_matvec_neon(size_t rows, size_t cols, const float* w, const float* x, float* y) {
  assert(w != nullptr && x != nullptr && y != nullptr);
  // Multiplying by 1 is exact: the sums are the dot products.
  MatvecNeon<LoadF32>(
      rows, cols, w, x, y, [](size_t, size_t) { return vdupq_n_f32(1.0f); },
      [](size_t) { return 1.0f; });
}

}  // namespace kite::kernels

// rmsnorm, AVX2: the template of rmsnorm/simd.h over 8-float lanes.
#include "sdk/kernels/rmsnorm/rmsnorm.h"
#include "sdk/kernels/rmsnorm/simd.h"
#include "sdk/kernels/simd/lanes.h"

namespace kite::kernels {

void rmsnorm_avx2(size_t n, const float* x, const float* weight, float eps, float* out) {
  RmsnormSimd<F32x8>(n, x, weight, eps, out);
}

}  // namespace kite::kernels

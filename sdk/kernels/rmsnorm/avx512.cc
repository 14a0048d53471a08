// rmsnorm, AVX-512: the template of rmsnorm/simd.h over 16-float lanes.
#include "sdk/kernels/rmsnorm/rmsnorm.h"
#include "sdk/kernels/rmsnorm/simd.h"
#include "sdk/kernels/simd/lanes.h"

namespace kite::kernels {

void rmsnorm_avx512(size_t n, const float* x, const float* weight, float eps, float* out) {
  RmsnormSimd<F32x16>(n, x, weight, eps, out);
}

}  // namespace kite::kernels

// rope, AVX2: the template of rope/simd.h over 8-float lanes (4 pairs per vector).
#include "sdk/kernels/rope/rope.h"
#include "sdk/kernels/rope/simd.h"
#include "sdk/kernels/simd/lanes.h"

namespace kite::kernels {

void rope_avx2(size_t n_heads, size_t head_dim, size_t pos, float theta, float* x) {
  RopeSimd<F32x8>(n_heads, head_dim, pos, theta, x);
}

}  // namespace kite::kernels

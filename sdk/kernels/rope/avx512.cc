// rope, AVX-512: the template of rope/simd.h over 16-float lanes (8 pairs per vector).
#include "sdk/kernels/rope/rope.h"
#include "sdk/kernels/rope/simd.h"
#include "sdk/kernels/simd/lanes.h"

namespace kite::kernels {

void rope_avx512(size_t n_heads, size_t head_dim, size_t pos, float theta, float* x) {
  RopeSimd<F32x16>(n_heads, head_dim, pos, theta, x);
}

}  // namespace kite::kernels

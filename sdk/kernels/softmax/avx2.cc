// softmax, AVX2: the template of softmax/simd.h over 8-float lanes.
#include "sdk/kernels/simd/lanes.h"
#include "sdk/kernels/softmax/simd.h"
#include "sdk/kernels/softmax/softmax.h"

namespace kite::kernels {

void softmax_avx2(size_t n, float* x) { SoftmaxSimd<F32x8>(n, x); }

}  // namespace kite::kernels

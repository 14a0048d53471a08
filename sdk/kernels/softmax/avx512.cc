// softmax, AVX-512: the template of softmax/simd.h over 16-float lanes.
#include "sdk/kernels/simd/lanes.h"
#include "sdk/kernels/softmax/simd.h"
#include "sdk/kernels/softmax/softmax.h"

namespace kite::kernels {

void softmax_avx512(size_t n, float* x) { SoftmaxSimd<F32x16>(n, x); }

}  // namespace kite::kernels

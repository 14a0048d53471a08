// swiglu, AVX2: the template of swiglu/simd.h over 8-float lanes.
#include "sdk/kernels/simd/lanes.h"
#include "sdk/kernels/swiglu/simd.h"
#include "sdk/kernels/swiglu/swiglu.h"

namespace kite::kernels {

void swiglu_avx2(size_t n, float* gate, const float* up) { SwigluSimd<F32x8>(n, gate, up); }

}  // namespace kite::kernels

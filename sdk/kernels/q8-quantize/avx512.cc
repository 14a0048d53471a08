// q8-quantize, AVX-512 (F/BW/VL): the template of q8-quantize/simd.h over 16-float lanes.
#include "sdk/kernels/q8-quantize/q8-quantize.h"
#include "sdk/kernels/q8-quantize/simd.h"
#include "sdk/kernels/simd/lanes.h"

namespace kite::kernels {

void q8_quantize_avx512(size_t n, size_t group, const float* x, int8_t* q, float* scales,
                        int32_t* sums) {
  Q8QuantizeSimd<F32x16>(n, group, x, q, scales, sums);
}

}  // namespace kite::kernels

#include <cassert>
#include <cmath>

#include "sdk/kernels/q8-quantize/q8-quantize.h"

namespace kite::kernels {

void q8_quantize_ref(size_t n, size_t group, const float* x, int8_t* q, float* scales,
                     int32_t* sums) {
  assert(group > 0 && group % 2 == 0);
  const size_t groups = (n + group - 1) / group;
  for (size_t g = 0; g < groups; ++g) {
    const size_t begin = g * group;
    const size_t end = begin + group < n ? begin + group : n;
    float amax = 0.0f;
    for (size_t i = begin; i < end; ++i) amax = std::fmax(amax, std::fabs(x[i]));
    const float scale = amax / 127.0f;
    const float inv = scale != 0.0f ? 1.0f / scale : 0.0f;
    scales[g] = scale;
    int32_t sum = 0;
    for (size_t i = begin; i < begin + group; ++i) {
      q[i] = i < end ? static_cast<int8_t>(std::lrintf(x[i] * inv)) : 0;
      sum += q[i];
    }
    sums[g] = sum;
  }
}

}  // namespace kite::kernels

#include <cmath>

#include "sdk/kernels/rmsnorm/rmsnorm.h"

namespace kite::kernels {

void rmsnorm_ref(size_t n, const float* x, const float* weight, float eps, float* out) {
  float ss = 0.0f;
  for (size_t i = 0; i < n; ++i) ss += x[i] * x[i];
  const float inv = 1.0f / std::sqrt(ss / static_cast<float>(n) + eps);
  for (size_t i = 0; i < n; ++i) out[i] = weight[i] * (inv * x[i]);
}

}  // namespace kite::kernels

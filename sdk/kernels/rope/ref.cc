#include <cmath>

#include "sdk/kernels/rope/rope.h"

namespace kite::kernels {

void rope_ref(size_t n_heads, size_t head_dim, size_t pos, float theta, float* x) {
  for (size_t i = 0; i < head_dim; i += 2) {
    const float freq = 1.0f / std::pow(theta, static_cast<float>(i) / static_cast<float>(head_dim));
    const float angle = static_cast<float>(pos) * freq;
    const float c = std::cos(angle);
    const float s = std::sin(angle);
    for (size_t h = 0; h < n_heads; ++h) {
      float* v = x + h * head_dim + i;
      const float v0 = v[0];
      const float v1 = v[1];
      v[0] = v0 * c - v1 * s;
      v[1] = v0 * s + v1 * c;
    }
  }
}

}  // namespace kite::kernels

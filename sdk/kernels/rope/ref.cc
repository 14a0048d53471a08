#include <cmath>

#include "sdk/kernels/rope/rope.h"

namespace kite::kernels {

namespace {

// Rotates pair i of every head by `angle`.
void RotatePairs(size_t n_heads, size_t head_dim, size_t i, float angle, float* x) {
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

}  // namespace

void rope_ref(size_t n_heads, size_t head_dim, size_t pos, float theta, float* x) {
  for (size_t i = 0; i < head_dim; i += 2) {
    const float freq = 1.0f / std::pow(theta, static_cast<float>(i) / static_cast<float>(head_dim));
    RotatePairs(n_heads, head_dim, i, static_cast<float>(pos) * freq, x);
  }
}

void rope_freqs_ref(size_t n_heads, size_t head_dim, size_t pos, const float* inv_freq,
                    float* x) {
  for (size_t i = 0; i < head_dim; i += 2) {
    RotatePairs(n_heads, head_dim, i, static_cast<float>(pos) * inv_freq[i / 2], x);
  }
}

}  // namespace kite::kernels

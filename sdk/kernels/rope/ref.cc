#include "sdk/kernels/rope/angle.h"
#include "sdk/kernels/rope/rope.h"

namespace kite::kernels {

namespace {

// Rotates pair i / 2 (elements i, i + 1) of every head by its angle at `pos`.
void RotatePairs(size_t n_heads, size_t head_dim, size_t i, size_t pos, float inv_freq,
                 float* x) {
  float c, s;
  RopeCosSin(pos, inv_freq, &c, &s);
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
    RotatePairs(n_heads, head_dim, i, pos, RopeFrequency(i / 2, head_dim, theta), x);
  }
}

void rope_freqs_ref(size_t n_heads, size_t head_dim, size_t pos, const float* inv_freq,
                    float* x) {
  for (size_t i = 0; i < head_dim; i += 2) {
    RotatePairs(n_heads, head_dim, i, pos, inv_freq[i / 2], x);
  }
}

}  // namespace kite::kernels

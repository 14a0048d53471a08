#include <cmath>

#include "sdk/kernels/rope/rope.h"

namespace kite::kernels {

void RopeInverseFrequencies(size_t head_dim, float theta, float* inv_freq) {
  for (size_t i = 0; i < head_dim / 2; ++i) {
    // The same float expression as rope_ref's angles.
    inv_freq[i] = 1.0f / std::pow(theta, static_cast<float>(2 * i) / static_cast<float>(head_dim));
  }
}

void ScaleRopeLlama3(float* inv_freq, uint32_t n, float factor, float low_freq_factor,
                     float high_freq_factor, uint32_t original_max_seq_len) {
  const double kPi = 3.14159265358979323846;
  const double old_len = static_cast<double>(original_max_seq_len);
  const double low_wavelen = old_len / low_freq_factor;    // longer waves: fully scaled
  const double high_wavelen = old_len / high_freq_factor;  // shorter waves: unchanged
  for (uint32_t i = 0; i < n; ++i) {
    const double f = inv_freq[i];
    const double wavelen = 2.0 * kPi / f;
    double scaled = f;
    if (wavelen > low_wavelen) {
      scaled = f / factor;
    } else if (wavelen >= high_wavelen) {
      const double smooth =
          (old_len / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor);
      scaled = (1.0 - smooth) * f / factor + smooth * f;
    }
    inv_freq[i] = static_cast<float>(scaled);
  }
}

}  // namespace kite::kernels

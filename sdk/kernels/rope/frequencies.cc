#include <cassert>

#include "sdk/kernels/rope/angle.h"
#include "sdk/kernels/rope/rope.h"

namespace kite::kernels {

void RopeInverseFrequencies(size_t head_dim, float theta, float* inv_freq) {
  for (size_t i = 0; i < head_dim / 2; ++i) inv_freq[i] = RopeFrequency(i, head_dim, theta);
}

void RopeCosSinTable(size_t pairs, const float* inv_freq, size_t n_pos, float* cos_sin) {
  assert(pairs == 0 || n_pos == 0 || (inv_freq != nullptr && cos_sin != nullptr));
  for (size_t pos = 0; pos < n_pos; ++pos) {
    float* row = cos_sin + 2 * pos * pairs;
    for (size_t i = 0; i < pairs; ++i) RopeCosSin(pos, inv_freq[i], &row[2 * i], &row[2 * i + 1]);
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

#include <cmath>

#include "sdk/kernels/swiglu/swiglu.h"

namespace kite::kernels {

void swiglu_ref(size_t n, float* gate, const float* up) {
  for (size_t i = 0; i < n; ++i) {
    const float g = gate[i];
    gate[i] = g / (1.0f + std::exp(-g)) * up[i];
  }
}

}  // namespace kite::kernels

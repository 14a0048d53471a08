#include <cassert>

#include "sdk/kernels/f32-matvec/f32-matvec.h"

namespace kite::kernels {

void f32_matvec_ref(size_t rows, size_t cols, const float* w, const float* x, float* y) {
  assert(w != nullptr && x != nullptr && y != nullptr);
  for (size_t r = 0; r < rows; ++r) {
    const float* row = w + r * cols;
    float acc = 0.0f;
    for (size_t c = 0; c < cols; ++c) acc += row[c] * x[c];
    y[r] = acc;
  }
}

}  // namespace kite::kernels

#include <cassert>

#include "sdk/kernels/q8c-matvec/q8c-matvec.h"

namespace kite::kernels {

void q8c_matvec_ref(size_t rows, size_t cols, const int8_t* w, const float* scales, const float* x,
                    float* y) {
  assert(w != nullptr && scales != nullptr && x != nullptr && y != nullptr);
  for (size_t r = 0; r < rows; ++r) {
    const int8_t* row = w + r * cols;
    float acc = 0.0f;
    for (size_t c = 0; c < cols; ++c) acc += static_cast<float>(row[c]) * x[c];
    y[r] = acc * scales[r];
  }
}

}  // namespace kite::kernels
